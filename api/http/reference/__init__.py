"""Reference data over HTTP, one folder per resource: routes and the rules with their SQL."""
