"""Stock over HTTP: command routes, read routes, access rules, schemas, queries."""
