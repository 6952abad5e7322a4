"""`Location` on a 201: the path of what the request created, as HTTP (RFC 9110, 10.2.2) asks."""

from __future__ import annotations

from uuid import UUID

from fastapi import Response


def created(response: Response, collection: str, resource_id: UUID | None) -> None:
    """Point the answer's Location at `<collection>/<resource_id>` (nothing when no resource came of it)."""
    if resource_id is not None:
        response.headers["Location"] = location(collection, resource_id)


def location(collection: str, resource_id: UUID) -> str:
    """The path of `resource_id` in `collection`: a Location header's value."""
    return f"{collection}/{resource_id}"
