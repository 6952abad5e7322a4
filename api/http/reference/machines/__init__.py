"""Machines: routes and rules."""
