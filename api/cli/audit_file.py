"""`abparts audit --file`: check an exported JSON Lines file with no database, as an auditor would.

One pass, in the file's order, memory bounded by its streams and positions:
- every event's hash is recomputed from its record (`ledger.recorded`, the same recipe the writer used);
- each stream's chain links: versions follow one another and previous_hash is the prior event's hash;
  a stream's first event must be version 1 with the zero hash when the file is the whole log (it
  carries seals, or starts at position 1); an export made with --from may start mid-stream;
- the records are in commit-safe (transaction_id, position) order, each position once;
- seals, when the export carries them (`abparts export --seals`, written before the events), are
  recomputed over the events in order and chained by previous_digest.
Positions missing within the file's range are listed as gaps but do not fail the check: a rolled-back
transaction burns positions too. A removed event still breaks its stream's chain, or a seal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.export import SEAL_RECORD, event_from_record
from ledger.recorded import GENESIS, START, LogCheckpoint, RecordedEvent, seal_digest


@dataclass(frozen=True)
class FileSeal:
    """A seal record of the file."""

    number: int
    after: LogCheckpoint
    through: LogCheckpoint
    event_count: int
    previous_digest: bytes
    digest: bytes


@dataclass
class FileAudit:
    """What checking a file found; `ok` when no problems (gaps alone do not fail it)."""

    events_checked: int = 0
    streams_checked: int = 0
    seals_checked: int = 0
    first_position: int | None = None
    last_position: int | None = None
    problems: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every hash, chain, order and seal checked out."""
        return not self.problems


def audit_lines(lines: Iterable[str], *, partial: bool = False) -> FileAudit:
    """Check the export's lines; see the module docstring for what is checked.

    Unless `partial` (an export made with --from), the file holds the log from its start: every
    stream must start in it, so events cut from the front are found even without seals.
    """
    check = _Check(partial)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            check.line(number, line)
    check.finish()
    return check.report


class _Check:
    def __init__(self, partial: bool = False) -> None:
        self.partial = partial
        self.report = FileAudit()
        self.heads: dict[str, tuple[int, bytes]] = {}
        self.positions: set[int] = set()
        self.last = START
        self.seals: list[FileSeal] = []
        self.digest, self.count = GENESIS, 0
        self.mid_stream: list[str] = []  # streams whose first event in the file is not version 1

    def line(self, number: int, line: str) -> None:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError("not a JSON object")
            if record.get("record") == SEAL_RECORD:
                self._seal(number, record)
                return
            event = event_from_record(record)
        except (ValueError, TypeError, KeyError) as error:
            self.report.problems.append(
                f"line {number}: not an export record ({type(error).__name__}: {error})"
            )
            return
        self._event(number, event)

    def _seal(self, number: int, record: dict[str, Any]) -> None:
        if self.report.events_checked:
            self.report.problems.append(f"line {number}: a seal record after the events (seals come first)")
            return
        seal = FileSeal(
            number=int(record["seal_number"]),
            after=LogCheckpoint(int(record["after_transaction_id"]), int(record["after_position"])),
            through=LogCheckpoint(int(record["through_transaction_id"]), int(record["through_position"])),
            event_count=int(record["event_count"]),
            previous_digest=bytes.fromhex(record["previous_digest"]),
            digest=bytes.fromhex(record["digest"]),
        )
        previous = self.seals[-1] if self.seals else None
        if seal.number != (previous.number + 1 if previous else 1) or seal.after != (
            previous.through if previous else START
        ):
            self.report.problems.append(f"seal {seal.number}: does not follow seal {seal.number - 1}")
        if seal.previous_digest != (previous.digest if previous else GENESIS):
            self.report.problems.append(f"seal {seal.number}: previous_digest does not match the seal before")
        self.seals.append(seal)
        self.report.seals_checked += 1

    def _event(self, number: int, event: RecordedEvent) -> None:
        report = self.report
        report.events_checked += 1
        where = f"line {number}: {event.stream_id}@{event.stream_version} (position {event.position})"
        if event.checkpoint <= self.last:
            report.problems.append(f"{where}: out of commit-safe order (after position {self.last.position})")
        self.last = max(self.last, event.checkpoint)
        if event.position in self.positions:
            report.problems.append(f"{where}: position appears twice")
        self.positions.add(event.position)
        if event.computed_hash() != event.hash:
            report.problems.append(f"{where}: content does not match its hash (changed after writing)")
        self._chain(where, event)
        self._roll_seals(event)

    def _chain(self, where: str, event: RecordedEvent) -> None:
        head = self.heads.get(event.stream_id)
        if head is None:
            self.report.streams_checked += 1
            if event.stream_version == 1 or self.seals:
                head = (0, GENESIS)
            else:
                self.mid_stream.append(where)
        if head is not None:
            version, previous = head
            if event.stream_version != version + 1:
                self.report.problems.append(f"{where}: version follows {version}: an event is missing")
            if event.previous_hash != previous:
                self.report.problems.append(f"{where}: previous_hash does not match the stream's prior event")
        self.heads[event.stream_id] = (event.stream_version, event.hash)

    def _roll_seals(self, event: RecordedEvent) -> None:
        self.digest = seal_digest(self.digest, event)
        self.count += 1
        while self.seals and self.seals[0].through <= event.checkpoint:
            seal = self.seals.pop(0)
            if seal.through < event.checkpoint:
                self._missing_end(seal)
                self._judge_on_its_own(seal, before=event)
                continue
            if self.count != seal.event_count:
                self.report.problems.append(
                    f"seal {seal.number}: covers {seal.event_count} events, the file has {self.count}"
                )
            if self.digest != seal.digest:
                self.report.problems.append(
                    f"seal {seal.number}: digest differs: events changed, removed or reordered"
                )
            self.digest, self.count = seal.digest, seal.event_count  # judge later seals on their own

    def _judge_on_its_own(self, seal: FileSeal, before: RecordedEvent) -> None:
        # The event just rolled belongs after the broken seal: start again from the seal, then add it.
        self.digest, self.count = seal_digest(seal.digest, before), seal.event_count + 1

    def _missing_end(self, seal: FileSeal) -> None:
        where = f"seal {seal.number}: its last event (position {seal.through.position})"
        self.report.problems.append(f"{where} is not in the file")

    def finish(self) -> None:
        for seal in self.seals:
            self._missing_end(seal)
        if not self.positions:
            return
        first, last = min(self.positions), max(self.positions)
        self.report.first_position, self.report.last_position = first, last
        if not self.partial or first == 1:  # the file starts at the log's start: so must every stream
            for where in self.mid_stream:
                self.report.problems.append(f"{where}: the stream's earlier events are not in the file")
        missing = sorted(set(range(first, last + 1)) - self.positions)
        self.report.gaps = [f"{a}-{b}" if a != b else str(a) for a, b in _runs(missing)]


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted `numbers` as (first, last)."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs
