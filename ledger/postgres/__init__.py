"""The PostgreSQL adapter of the ledger: the event store, its reader, seals and the command executor."""
