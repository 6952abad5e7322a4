"""Operations over HTTP: liveness, readiness, metrics."""
