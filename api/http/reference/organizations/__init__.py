"""Organizations: routes and rules."""
