"""Seals and audits: digests over the whole log, and the check of every hash chain and seal.

Per-stream hash chains keep writers parallel, but alone they cannot see an
event removed from the end of a stream or events reordered across streams.
A seal rolls a digest over every event in commit-safe order up to a point;
the audit recomputes every stream chain and every seal from the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ledger.postgres.connection import Connection
from ledger.postgres.eventstore import COLUMNS, row_to_event
from ledger.postgres.reader import read_events
from ledger.recorded import GENESIS, START, LogCheckpoint, RecordedEvent, seal_digest

SEAL_LOCK = 0x4C454447  # advisory lock id: one sealer at a time

LAST_SEAL = """
SELECT seal_number, through_writer_xid::text::bigint, through_position, event_count, digest
FROM ledger_seals ORDER BY seal_number DESC LIMIT 1
"""
INSERT_SEAL = """
INSERT INTO ledger_seals (seal_number, through_writer_xid, through_position, event_count,
    previous_digest, digest)
VALUES (%s, %s::text::xid8, %s, %s, %s, %s)
"""
ALL_SEALS = """
SELECT seal_number, through_writer_xid::text::bigint, through_position, event_count,
    previous_digest, digest
FROM ledger_seals ORDER BY seal_number
"""
BY_STREAM = f"SELECT {COLUMNS} FROM ledger_events ORDER BY stream_id, stream_version"
SEALED_RANGE = f"""
SELECT {COLUMNS} FROM ledger_events
WHERE (writer_xid, position) > (%s::text::xid8, %s)
  AND (writer_xid, position) <= (%s::text::xid8, %s)
ORDER BY ledger_events.writer_xid, ledger_events.position
"""


@dataclass(frozen=True)
class Seal:
    """A digest over every event up to `through` in commit-safe order."""

    number: int
    through: LogCheckpoint
    event_count: int
    digest: bytes


def seal(conn: Connection, max_events: int = 100_000) -> Seal | None:
    """Seal the finished events since the last seal (at most `max_events`); None if there are none."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])
        row = conn.execute(LAST_SEAL).fetchone()
        number, after, count, digest = (
            (0, START, 0, GENESIS)
            if row is None
            else (row[0], LogCheckpoint(row[1], row[2]), row[3], bytes(row[4]))
        )
        events = read_events(conn, after, max_events)
        if not events:
            return None
        previous = digest
        for event in events:
            digest = seal_digest(digest, event)
        through = events[-1].checkpoint
        new = Seal(number + 1, through, count + len(events), digest)
        conn.execute(
            INSERT_SEAL,
            [new.number, through.transaction_id, through.position, new.event_count, previous, digest],
        )
        return new


@dataclass(frozen=True)
class StoredSeal:
    """A seal as stored: what it covers (after `after`, through `through`) and its digests."""

    number: int
    after: LogCheckpoint
    through: LogCheckpoint
    event_count: int
    previous_digest: bytes
    digest: bytes


def stored_seals(conn: Connection) -> list[StoredSeal]:
    """Every seal, in order (for `abparts export --seals`)."""
    seals, after = [], START
    for number, xid, position, event_count, previous_digest, digest in conn.execute(ALL_SEALS).fetchall():
        through = LogCheckpoint(xid, position)
        seals.append(StoredSeal(number, after, through, event_count, bytes(previous_digest), bytes(digest)))
        after = through
    return seals


@dataclass
class AuditReport:
    """What an audit of the log found; `ok` when nothing."""

    events_checked: int = 0
    streams_checked: int = 0
    seals_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every chain and seal checked out."""
        return not self.problems


def audit(conn: Connection) -> AuditReport:
    """Check every stream's hash chain and every seal against the rows of the log."""
    report = AuditReport()
    _check_chains(_stream_rows(conn), report)
    _check_seals(conn, report)
    return report


def _stream_rows(conn: Connection) -> Iterator[RecordedEvent]:
    # A named (server-side) cursor streams the log in constant memory.
    with conn.transaction(), conn.cursor(name="ledger_audit") as cur:
        cur.itersize = 5000
        cur.execute(BY_STREAM)
        for row in cur:
            yield row_to_event(row)


def _check_chains(events: Iterator[RecordedEvent], report: AuditReport) -> None:
    stream, version, previous = "", 0, GENESIS
    for event in events:
        report.events_checked += 1
        if event.stream_id != stream:
            stream, version, previous = event.stream_id, 0, GENESIS
            report.streams_checked += 1
        where = f"{event.stream_id}@{event.stream_version} (position {event.position})"
        if event.stream_version != version + 1:
            report.problems.append(f"{where}: version follows {version}: an event is missing")
        if event.previous_hash != previous:
            report.problems.append(f"{where}: previous_hash does not match the stream's prior event")
        if event.computed_hash() != event.hash:
            report.problems.append(f"{where}: content does not match its hash (changed after writing)")
        version, previous = event.stream_version, event.hash


def _check_seals(conn: Connection, report: AuditReport) -> None:
    after, digest, count = START, GENESIS, 0
    for number, xid, position, event_count, previous_digest, sealed in conn.execute(ALL_SEALS).fetchall():
        report.seals_checked += 1
        through = LogCheckpoint(xid, position)
        if bytes(previous_digest) != digest:
            report.problems.append(f"seal {number}: previous_digest does not match seal {number - 1}")
        rows = conn.execute(
            SEALED_RANGE, [after.transaction_id, after.position, through.transaction_id, through.position]
        ).fetchall()
        for row in rows:
            digest = seal_digest(digest, row_to_event(row))
        count += len(rows)
        if count != event_count:
            report.problems.append(f"seal {number}: covers {event_count} events, the log now has {count}")
        if digest != bytes(sealed):
            report.problems.append(f"seal {number}: digest differs: events changed, removed or reordered")
            digest = bytes(sealed)  # judge later seals on their own
        after, count = through, event_count
