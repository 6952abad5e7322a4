"""The ledger page's reads that the API lacked: the log searched, and the ledger's health.

GET /ledger/search is GET /ledger/events narrowed (stream, event type, part, warehouse, performer,
recorded period) with the names of the ids on the page; GET /ledger/checks is the latest seal and
the latest `abparts verify` and `abparts audit` runs. Both are for admins (their organizations'
streams) and super_admins, as the raw log is.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import Connection, CurrentAdmin, ReadConnection
from api.http.pagination import Cursor, Limit
from api.http.problems import ApiError
from api.http.stock.reading import Period
from api.http.stock.schemas import LedgerEventOut
from api.http.ui.schemas import CheckRunOut, LedgerChecksOut, LedgerSearchPage, SealOut
from api.runtime import check_runs
from api.runtime.names import lookup
from ledger.export import KINDS, named_ids, record
from ledger.postgres import queries
from ledger.postgres.log_search import LogSearch, search
from ledger.postgres.seals import stored_seals
from ledger.recorded import START, RecordedEvent

router = APIRouter(tags=["ledger page"])


@router.get("/ledger/search", response_model=LedgerSearchPage, summary="The log, searched")
def ledger_search(
    conn: Connection,
    reads: ReadConnection,
    caller: CurrentAdmin,
    period: Period,
    stream_id: Annotated[str | None, Query(max_length=200)] = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    part_id: UUID | None = None,
    warehouse_id: UUID | None = None,
    performed_by_user_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LedgerSearchPage:
    """Events in commit-safe order that match every filter given (admins: their own streams).

    A part or warehouse matches the events naming it and every event of a movement's stream that
    does. The period is of `recorded_at`. `next_cursor` is the position of the page's last event.
    """
    start = START
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()):
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued", field="cursor")
        # Asked of the primary, as GET /ledger/events does.
        checkpoint = queries.checkpoint_at(conn, int(cursor))
        if checkpoint is None:
            raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued", field="cursor")
        start = checkpoint
    bounds = period.bounds()
    narrowed = LogSearch(
        stream_id=stream_id,
        event_type=event_type,
        part_id=part_id,
        warehouse_id=warehouse_id,
        performed_by=performed_by_user_id,
        recorded_from=bounds["date_from"],
        recorded_to=bounds["date_to"],
    )
    found = search(reads, narrowed, caller.scope_list(), start, limit + 1)
    shown = found[:limit]
    return LedgerSearchPage(
        items=[LedgerEventOut(**record(e)) for e in shown],
        next_cursor=str(shown[-1].position) if len(found) > limit else None,
        names=_names(conn, shown),
    )


def _names(conn: Connection, events: list[RecordedEvent]) -> dict[str, dict[str, dict[str, Any]]]:
    """What the ids the events' payloads name stand for, as the export's `names` says it."""
    wanted: dict[str, set[UUID]] = {kind: set() for kind in KINDS}
    for event in events:
        for kind, ids in named_ids(event.payload).items():
            for text in ids:
                with contextlib.suppress(ValueError):  # not an id: nothing to name
                    wanted[kind].add(UUID(text))
    found = lookup(conn, wanted["parts"], wanted["warehouses"], wanted["organizations"])
    return {
        "parts": {
            str(i): {
                "part_number": p.part_number,
                "part_name": p.part_name,
                "unit_of_measure": p.unit_of_measure,
            }
            for i, p in found.parts.items()
        },
        "warehouses": {
            str(i): {"warehouse_name": w.warehouse_name, "organization_id": str(w.organization_id)}
            for i, w in found.warehouses.items()
        },
        "organizations": {str(i): {"organization_name": n} for i, n in found.organizations.items()},
    }


@router.get("/ledger/checks", response_model=LedgerChecksOut, summary="The ledger's health")
def ledger_checks(conn: Connection, caller: CurrentAdmin) -> LedgerChecksOut:
    """The log's head, its latest seal, and the latest runs of `abparts verify` and `abparts audit`.

    A check's details (its --json document) name rows of every organization: only a super_admin
    gets them; an admin sees the outcome, the time and the summary.
    """
    seals = stored_seals(conn)
    latest = seals[-1] if seals else None
    runs = check_runs.latest(conn)

    def shown(name: check_runs.CheckName) -> CheckRunOut | None:
        run = runs.get(name)
        if run is None:
            return None
        details = run.details if caller.is_super_admin else None
        return CheckRunOut(
            check_name=run.check_name,
            started_at=run.started_at,
            finished_at=run.finished_at,
            ok=run.ok,
            summary=run.summary,
            details=details,
        )

    return LedgerChecksOut(
        head_position=queries.head_position(conn),
        latest_seal=None
        if latest is None
        else SealOut(
            seal_number=latest.number,
            through_position=latest.through.position,
            event_count=latest.event_count,
            digest=latest.digest.hex(),
        ),
        verify=shown("verify"),
        audit=shown("audit"),
    )
