"""Bodies of the ledger page's own reads: a page of the searched log, and the ledger's health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.http.stock.schemas import LedgerEventOut


class LedgerSearchPage(BaseModel):
    """Events of the searched log, in commit-safe order, with the names their payloads' ids stand for."""

    items: list[LedgerEventOut]
    next_cursor: str | None = Field(description="The position of the page's last event, when more follow.")
    names: dict[str, dict[str, dict[str, Any]]] = Field(
        description="By kind (`parts`, `warehouses`, `organizations`) and id, as `abparts export` names them."
    )


class SealOut(BaseModel):
    """The latest seal: a digest over the log up to a position."""

    seal_number: int
    through_position: int
    event_count: int
    digest: str = Field(description="hex")


class CheckRunOut(BaseModel):
    """The latest run of `abparts verify` or `abparts audit`."""

    check_name: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    summary: str
    details: dict[str, Any] | None = Field(
        description="The command's --json document (super_admins only: it names other organizations' rows)."
    )


class LedgerChecksOut(BaseModel):
    """The ledger's health beside the projections' status: the latest seal and the latest checks."""

    head_position: int | None
    latest_seal: SealOut | None
    verify: CheckRunOut | None
    audit: CheckRunOut | None
