"""Users: routes and rules."""
