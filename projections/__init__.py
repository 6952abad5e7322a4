"""Read models built from the ledger's event log."""
