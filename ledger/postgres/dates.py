"""Movements whose date, as the log tells it now, lies outside what every reader can represent.

Dates are bounded when a command is decided; a movement recorded before that
bound existed may carry one no reader can show (a year-1 date with a +14:00
offset is year 0 in UTC). Found here from the log itself, the latest
MovementDateCorrected of a movement winning over its recorded date, so a
repaired movement is no longer reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.events import MOVEMENT_TYPES, MovementDateCorrected
from ledger.postgres.connection import Connection
from ledger.types import EARLIEST_MOMENT, LATEST_MOMENT

DATED_EVENTS = [cls.event_type for cls in MOVEMENT_TYPES] + [MovementDateCorrected.event_type]

UNREADABLE_DATES = """
WITH dated AS (
    SELECT DISTINCT ON (stream_id) (payload->>'transaction_id')::uuid AS transaction_id,
        payload->>'transaction_date' AS transaction_date
    FROM ledger_events
    WHERE event_type = ANY(%(types)s)
    ORDER BY stream_id, stream_version DESC
)
SELECT transaction_id, transaction_date FROM dated
WHERE transaction_date::timestamptz < %(earliest)s OR transaction_date::timestamptz >= %(latest)s
ORDER BY transaction_id
"""


@dataclass(frozen=True)
class UnreadableDate:
    """A movement and the date the log gives it, as stored text."""

    transaction_id: UUID
    transaction_date: str


def unreadable_dates(conn: Connection) -> list[UnreadableDate]:
    """Every movement whose current date lies outside [EARLIEST_MOMENT, LATEST_MOMENT) in UTC."""
    params = {"types": DATED_EVENTS, "earliest": EARLIEST_MOMENT, "latest": LATEST_MOMENT}
    return [UnreadableDate(r[0], r[1]) for r in conn.execute(UNREADABLE_DATES, params).fetchall()]
