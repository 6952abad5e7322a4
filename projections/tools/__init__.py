"""Tools over the projections: rebuild, verify, balance snapshots (stock at a past point),
shadow tables and progress bars."""
