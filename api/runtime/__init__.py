"""What every entry point shares: settings, the database and its migrations,
logging, seed data and the projector wiring."""
