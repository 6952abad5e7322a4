"""Orders over HTTP: customer and supplier order routes, access rules, schemas, queries."""
