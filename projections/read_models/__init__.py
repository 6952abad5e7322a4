"""One module per read table of the spec: the set-based SQL that applies a batch of the log."""
