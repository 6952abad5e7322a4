"""Errors as RFC 9457 problem details: every refusal is a 4xx with a stable machine-readable `code`.

Routes raise ApiError (or let a LedgerError through); the handlers here turn
them, request validation errors and a database that is away into
`application/problem+json` responses. Nothing reaches the client as a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from api.runtime.logs import request_id
from ledger.errors import LedgerError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

# A ledger error's HTTP status by its code; any other ledger error is a 422.
LEDGER_STATUS = {
    "unknown_transaction": 404,
    "insufficient_stock": 409,
    "stock_reserved": 409,
    "warehouse_inactive": 409,
    "invalid_transaction_state": 409,
    "self_approval": 403,
    "limit_reached": 409,
    "concurrency_conflict": 409,
    "idempotency_conflict": 422,
    "unknown_order": 404,
    "invalid_order_state": 409,
}


# The body members whose meaning RFC 9457 (and our `code`) fixes; no extra member may replace them.
RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code"})


class ApiError(Exception):
    """A refusal with an HTTP status, a stable code, and a human explanation."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def not_found(what: str) -> ApiError:
    """The thing does not exist, or the caller may not see it (the two look the same)."""
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(detail: str) -> ApiError:
    """The caller sees the thing but its role may not do this."""
    return ApiError(403, "forbidden", detail)


def conflict(code: str, detail: str, **extra: Any) -> ApiError:
    """The request is valid but clashes with the current state."""
    return ApiError(409, code, detail, **extra)


def problem(
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    *,
    replay_of: str | None = None,
    replayed: bool = False,
) -> JSONResponse:
    """A problem+json response; `extra` adds members (field errors, ids) to the body.

    An extra member named like a reserved one (RESERVED) is dropped: RFC 9457 gives `status` and the
    others fixed meanings, and a client reading `status` must always find the HTTP status there.
    A `replayed` answer is the one given to the request `replay_of` first: its `instance` is that one.
    """
    title = code.replace("_", " ").capitalize()
    reserved: dict[str, Any] = {
        "type": type_uri(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    # The request id is what the logs and the recorded events carry: quoting `instance` finds both.
    rid = replay_of if replayed else request_id.get()
    if rid is not None:
        reserved["instance"] = f"urn:request:{rid}"
    extras = {k: v for k, v in (extra or {}).items() if k not in RESERVED}
    body = reserved | jsonable_encoder(extras)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def type_uri(code: str) -> str:
    """A problem's `type`: the page of GET /problems/{code}, which describes the code."""
    return f"/problems/{code}"


def _count(request: Request, code: str, status: int) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(code, str(status)).inc()


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, error: ApiError) -> JSONResponse:
        _count(request, error.code, error.status)
        return problem(error.status, error.code, error.detail, error.headers, error.extra)

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, error: LedgerError) -> JSONResponse:
        status = LEDGER_STATUS.get(error.code, 422)
        _count(request, error.code, status)
        # A refusal the ledger kept under the Idempotency-Key, given again: the first answer's bytes.
        replay = {"idempotent-replay": "true"} if error.replayed else None
        return problem(
            status,
            error.code,
            error.message,
            replay,
            error.details,
            replay_of=error.first_request_id,
            replayed=error.replayed,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # A body that is not JSON at all is a syntax error of the request (400), not an invalid value.
        broken = [e for e in error.errors() if e.get("type") == "json_invalid"]
        if broken:
            _count(request, "malformed_json", 400)
            where = broken[0].get("ctx", {}).get("error", "not JSON")
            return problem(400, "malformed_json", f"the body is not valid JSON: {where}")
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        _count(request, "validation_error", 422)
        return problem(422, "validation_error", "the request is not valid", extra={"errors": errors})

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        code = {401: "not_authenticated", 404: "not_found", 405: "method_not_allowed"}.get(
            error.status_code, "http_error"
        )
        headers = dict(error.headers) if error.headers else None
        return problem(error.status_code, code, str(error.detail), headers=headers)

    _install_database(app)


def _install_database(app: FastAPI) -> None:
    """Register the handlers for the database's errors, and the last resort for every other one."""

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    # The server ended a session idle in its transaction past the API's bound (an InternalError by its class).
    @app.exception_handler(psycopg.errors.IdleInTransactionSessionTimeout)
    async def _unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", error)
        _count(request, "database_unavailable", 503)
        return problem(
            503, "database_unavailable", "the database is not reachable; retry shortly", {"Retry-After": "2"}
        )

    @app.exception_handler(psycopg.errors.DataError)
    async def _bad_value(request: Request, error: psycopg.errors.DataError) -> JSONResponse:
        # A value the database refuses (a number out of range, a bad date), or one psycopg refuses to
        # send (a NUL character: it raises before the server sees it, with no diagnostic): the request's.
        detail = error.diag.message_primary or str(error) or "a value is not acceptable"
        _count(request, "invalid_value", 422)
        return problem(422, "invalid_value", detail)

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(request: Request, error: UnicodeEncodeError) -> JSONResponse:
        # Only text decoded from a request (JSON's "\ud800") holds a lone surrogate, which psycopg cannot
        # encode to send; any other encoding failure is the server's own bug and stays a 500.
        if error.reason != "surrogates not allowed":
            return await _unexpected(request, error)
        _count(request, "invalid_value", 422)
        return problem(422, "invalid_value", "a text value is not valid Unicode (a lone surrogate)")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        _count(request, "internal_error", 500)
        return problem(500, "internal_error", "an unexpected error occurred; it has been logged")
