"""Orders over HTTP: who may act on which order (access), the bodies (models), the reads (queries)."""
