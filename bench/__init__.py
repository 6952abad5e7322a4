"""Benchmarks of the ledger's moving parts, run with `make bench` (see bench/README.md); not in the tests."""
