"""The ABParts stock ledger: commands, business rules, events and the append-only event store."""
