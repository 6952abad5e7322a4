"""Stock over HTTP: who may do what where (access), the commands (commands) and the reads (queries)."""
