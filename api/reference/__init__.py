"""Reference data: warehouses, parts and machines, with the spec's business rules."""
