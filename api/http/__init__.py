"""The HTTP API: the app factory, dependencies, problems, OpenAPI, pagination,
and one folder per feature."""
