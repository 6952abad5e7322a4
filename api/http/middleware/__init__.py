"""ASGI middleware: Idempotency-Key answers and request metrics."""
