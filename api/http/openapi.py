"""The OpenAPI document: every operation lists the problem codes it can answer, with examples.

FastAPI documents only the success response and a 422 of its own shape; this
adds the errors the service really returns, per status, each code with an
example `application/problem+json` body (which codes: `ops/problem_codes.py`),
and an example of every request and response body (`ops/examples.py`), so
clients, the docs pages and schema-based tests can rely on the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from api.http.ops import examples
from api.http.ops.problem_codes import Code, codes_for
from api.http.problems import type_uri

PUBLIC = {"/health", "/ready", "/metrics"}
# Statuses whose meaning is the same on every operation; each code's own description comes with it.
STATUS_TEXT = {
    400: "The request is not well-formed",
    401: "Not signed in, or the token is unknown, expired or revoked",
    403: "Signed in, but the role may not do this",
    404: "Not found (or not visible to the caller)",
    405: "Method not allowed",
    409: "Conflicts with the current state (a business rule)",
    422: "The request is not valid",
    503: "The database or the projections are not available yet; retry after Retry-After",
}


class Problem(BaseModel):
    """An RFC 9457 problem: `code` is stable and machine-readable; more members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None  # urn:request:<the request id>, as in the logs and the recorded events


def install(app: FastAPI, routers: Iterable[APIRouter], ledger_kept: Sequence[re.Pattern[str]] = ()) -> None:
    """Replace the app's OpenAPI generator with one that documents the problem responses.

    `routers` are the ones the app includes: their routes name each operation's endpoint (by
    operationId), whose feature folder tells which codes it can answer. `ledger_kept` are the
    paths of the POST routes whose Idempotency-Keys the ledger alone keeps (the middleware's
    `ledger_kept`): they never answer the middleware's 409 `request_in_progress`.
    """
    kept = {pattern.pattern for pattern in ledger_kept}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema()
        endpoints = {r.unique_id: r for router in routers for r in router.routes if isinstance(r, APIRoute)}
        for operations in document.get("paths", {}).values():
            for method, operation in operations.items():
                route = endpoints.get(operation.get("operationId", ""))
                if route is not None:
                    by_ledger = method == "post" and route.path_regex.pattern in kept
                    _add_errors(operation, _codes(route, method, by_ledger))
                decimals = examples.decimal_fields(route.response_model) if route else set()
                if route is not None and route.body_field is not None:
                    decimals |= examples.decimal_fields(route.body_field.field_info.annotation)
                examples.add(operation, schemas, decimals)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _codes(route: APIRoute, method: str, by_ledger: bool) -> list[Code]:
    public, has_body, given = route.path in PUBLIC, route.body_field is not None, route.dependant
    has_input = has_body or bool(given.query_params or given.path_params or given.header_params)
    return codes_for(route.endpoint, method, public, has_input, has_body, by_ledger=by_ledger)


def _add_errors(operation: dict[str, Any], codes: list[Code]) -> None:
    """One response per status, listing its codes, with an example body for each code."""
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's own 422 shape, which this service never answers
    by_status: dict[int, list[Code]] = {}
    for code in codes:
        by_status.setdefault(code.status, []).append(code)
    for status, listed in sorted(by_status.items()):
        bodies = {
            c.code: {
                "summary": c.description,
                "value": {
                    "type": type_uri(c.code),
                    "title": c.code.replace("_", " ").capitalize(),
                    "status": status,
                    "detail": c.description,
                    "code": c.code,
                    "instance": "urn:request:6f1c2a0e9b5d4c3a8e7f1b2d3c4a5e6f",
                },
            }
            for c in listed
        }
        names = ", ".join(f"`{c.code}`" for c in listed)
        responses[str(status)] = {
            "description": f"{STATUS_TEXT.get(status, 'Refused')}: {names}",
            "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": bodies,
                }
            },
        }
