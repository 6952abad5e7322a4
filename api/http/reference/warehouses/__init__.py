"""Warehouses: routes and rules."""
