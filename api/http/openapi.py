"""The OpenAPI document: every operation lists its problem+json error responses, with their schema.

FastAPI documents only the success response and a 422 of its own shape; this
adds the errors the service really returns (401, 403, 404, 409, 422, 503, all
as `application/problem+json` with the Problem schema), so clients and
schema-based tests can rely on the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

ERRORS = {
    "401": "Not signed in, or the token is unknown, expired or revoked",
    "403": "Signed in, but the role may not do this",
    "404": "Not found (or not visible to the caller)",
    "409": "Conflicts with the current state (a business rule)",
    "422": "The request is not valid",
    "503": "The database or the projections are not available yet; retry after Retry-After",
}
PUBLIC = {"/health", "/ready", "/metrics"}


class Problem(BaseModel):
    """An RFC 9457 problem: `code` is stable and machine-readable; more members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str


def install(app: FastAPI) -> None:
    """Replace the app's OpenAPI generator with one that documents the problem responses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema()
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                _add_errors(operation, public=path in PUBLIC)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _add_errors(operation: dict[str, Any], public: bool) -> None:
    responses = operation.setdefault("responses", {})
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for status, description in ERRORS.items():
        if public and status in ("401", "403"):
            continue
        responses[status] = {"description": description, "content": problem}
