"""Liveness: answers as long as the process serves HTTP and the database answers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Connection

router = APIRouter(tags=["operations"])


@router.get("/health")
def health(conn: Connection) -> dict[str, str]:
    """Report that the service is up and its database answers."""
    conn.execute("SELECT 1")
    return {"status": "ok"}
