"""The end of every command: append its decision, update the write-side stock levels, describe the result."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger import decide as rules
from ledger.fold import StockKey, stock_changes
from ledger.postgres import context as load
from ledger.postgres.eventstore import Connection, append
from ledger.recorded import CommandMetadata, RecordedEvent
from ledger.results import AppendedEvent, CommandResult


def commit(
    conn: Connection,
    decision: rules.Decision,
    streams: dict[str, list[RecordedEvent]],
    metadata: CommandMetadata,
    now: datetime,
    transaction_ids: tuple[UUID, ...],
    order_id: UUID | None = None,
) -> CommandResult:
    """Append a decision after the heads of the streams it read, update the stock levels, describe it."""
    heads = {s: (events[-1].stream_version, events[-1].hash) for s, events in streams.items() if events}
    recorded = append(conn, decision.events, heads, metadata, now)
    load.add_to_levels(conn, _net_changes(decision))
    load.count_movements(conn, now, decision.new_movements)
    return CommandResult(
        position=max((e.position for e in recorded), default=None),
        log_transaction_id=recorded[0].transaction_id if recorded else None,
        events=tuple(
            AppendedEvent(
                position=e.position,
                stream_id=e.stream_id,
                stream_version=e.stream_version,
                event_type=e.event_type,
            )
            for e in recorded
        ),
        transaction_ids=transaction_ids,
        warnings=decision.warnings,
        order_id=order_id,
    )


def _net_changes(decision: rules.Decision) -> dict[StockKey, Decimal]:
    net: dict[StockKey, Decimal] = {}
    for _, event in decision.events:
        for key, delta in stock_changes(event):
            net[key] = net.get(key, Decimal(0)) + delta
    return net
