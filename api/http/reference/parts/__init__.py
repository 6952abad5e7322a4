"""Parts: routes and rules."""
