"""Decide the commands of one batch in order, each against the state the earlier ones leave.

The batch's streams and reference rows were read, and its stock levels locked, by one statement
each (context.py); from there each command sees the levels, movement count, stream states and
heads, and idempotency keys as the accepted commands before it in the batch changed them, exactly
as if they had committed one by one. A refused command changes nothing and fails alone; with an
idempotency key, its refusal is kept under the key (a twin later in the batch gets it again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger.commands import StockCommand
from ledger.decide import decide, handler_for
from ledger.errors import LedgerError
from ledger.events import Event, Movement, movement_stream
from ledger.fold import StockKey, reservation_changes, stock_changes
from ledger.needs import Found, Needs, Streams
from ledger.orders.commands import OrderCommand
from ledger.orders.state import OrderState, order_state
from ledger.policy import Policy
from ledger.postgres import idempotency
from ledger.postgres.commit import Decided, described
from ledger.postgres.connection import Connection
from ledger.postgres.context import Loaded, Wanted
from ledger.postgres.eventstore import NewEvent, chain, load_streams
from ledger.postgres.idempotency import Refused, Replay
from ledger.recorded import CommandMetadata, RecordedEvent
from ledger.results import CommandResult, ResultingMovement
from ledger.rules import Decision
from ledger.state import DecisionContext, MovementState, created_movements, movement_state, resulting_movement

Command = StockCommand | OrderCommand
Item = tuple[Command, CommandMetadata]
Outcome = CommandResult | Exception  # a LedgerError when a rule refused the command


@dataclass(frozen=True)
class Plan:
    """What a batch reads: its streams (read here, in one statement), and each command's needs.

    A step is the streams a command reads and what it needs, or what failed in working them out.
    """

    streams: BatchStreams
    wanted: Wanted
    steps: list[tuple[Streams, Needs] | Exception]

    @classmethod
    def of(cls, conn: Connection, items: Sequence[Item]) -> Plan:
        """Read the batch's streams; gather what its commands need into one read-and-lock."""
        read: list[Streams | Exception] = []
        for command, _ in items:
            try:
                read.append(handler_for(command).streams(command))
            except Exception as error:  # this command's outcome alone
                read.append(error)
        ids = set().union(*(stream_ids(s) for s in read if isinstance(s, Streams)))
        streams = BatchStreams(load_streams(conn, ids))
        wanted = Wanted()
        steps: list[tuple[Streams, Needs] | Exception] = []
        for (command, metadata), reads in zip(items, read, strict=True):
            try:
                if isinstance(reads, Exception):
                    raise reads
                needs = handler_for(command).needs(command, streams.found(reads))
            except Exception as error:  # this command's outcome alone
                steps.append(error)
                continue
            wanted.add(needs)
            wanted.users.add(metadata.performed_by_user_id)
            steps.append((reads, needs))
        # Every key, a failed step's too: its earlier outcome is its answer, else its refusal is kept.
        wanted.keys.update(m.idempotency_key for _, m in items if m.idempotency_key)
        return cls(streams, wanted, steps)


Step = Decided | CommandResult | Replay | Refused


def answers(decided: Sequence[Step | Exception], written: Iterator[CommandResult]) -> list[Outcome]:
    """Each command's outcome: its written result, a recalled one, a replay of an earlier one, its error."""
    outcomes: list[Outcome] = []
    for step in decided:
        if isinstance(step, Decided):
            outcomes.append(next(written))
        elif isinstance(step, Refused):
            outcomes.append(step.error)
        elif isinstance(step, Replay):
            first, outcome = decided[step.of], outcomes[step.of]
            if isinstance(first, Refused):
                outcomes.append(first.again())
            else:
                assert isinstance(outcome, CommandResult)
                outcomes.append(outcome.model_copy(update={"replayed": True}))
        else:
            outcomes.append(step)
    return outcomes


def stream_ids(streams: Streams) -> set[str]:
    """The stream ids a command's Streams name."""
    return {movement_stream(t) for t in streams.transaction_ids} | set(streams.order_streams)


class BatchStreams:
    """The streams a batch reads: as loaded, then as the batch's accepted commands extend them."""

    def __init__(self, raw: dict[str, list[RecordedEvent]]) -> None:
        self.pairs: dict[str, list[tuple[int, Event]]] = {
            s: [(e.stream_version, e.event()) for e in events] for s, events in raw.items()
        }
        self.recorded_by = {s: events[0].metadata.performed_by_user_id for s, events in raw.items() if events}
        self.recorded_at = {s: events[0].recorded_at for s, events in raw.items() if events}
        self.heads = {s: (events[-1].stream_version, events[-1].hash) for s, events in raw.items() if events}
        self.touched: set[str] = set()
        self._movements: dict[str, MovementState | None] = {}
        self._orders: dict[str, OrderState | None] = {}

    def found(self, streams: Streams) -> Found:
        """The current state of the movements and orders `streams` names (absent when empty)."""
        movements: dict[UUID, MovementState] = {}
        for transaction_id in streams.transaction_ids:
            stream = movement_stream(transaction_id)
            if stream not in self._movements:
                self._movements[stream] = movement_state(self.pairs[stream], self.recorded_by.get(stream))
            if (movement := self._movements[stream]) is not None:
                movements[transaction_id] = movement
        orders: dict[UUID, OrderState] = {}
        for stream in streams.order_streams:
            if stream not in self._orders:
                self._orders[stream] = order_state(self.pairs[stream])
            if (order := self._orders[stream]) is not None:
                orders[order.order_id] = order
        return Found(movements=movements, orders=orders)

    def heads_of(self, streams: Streams) -> dict[str, tuple[int, bytes]]:
        """The heads (version, hash) of the streams a command read: the only ones it chains after.

        A stream it did not read starts at version 1, as it would alone: should it exist, the write
        fails on the stream's version, as it would alone.
        """
        return {s: self.heads[s] for s in stream_ids(streams) if s in self.heads}

    def extend(
        self, new: list[NewEvent], events: tuple[tuple[str, Event], ...], user: UUID, at: datetime
    ) -> None:
        """Add an accepted command's events to the streams the batch reads (others need no state)."""
        for appended, (stream, event) in zip(new, events, strict=True):
            if stream not in self.pairs:
                continue
            if not self.pairs[stream]:
                self.recorded_by[stream], self.recorded_at[stream] = user, at
            self.pairs[stream].append((appended.stream_version, event))
            self.heads[stream] = (appended.stream_version, appended.hash)
            self.touched.add(stream)
            self._movements.pop(stream, None)
            self._orders.pop(stream, None)

    def resulting(
        self, decision: Decision, new: list[NewEvent], user: UUID, at: datetime
    ) -> tuple[ResultingMovement, ...] | None:
        """The movements a decision created or acted on, as it left them (after `extend`): straight
        from its events when it only created them (a stocktake); else a stream the batch read folded as
        extended, one it did not from the decision's own events. None when one cannot be told."""
        fresh = created_movements(decision.events, decision.transaction_ids, self.pairs, user, at)
        if fresh is not None:
            return fresh
        out: list[ResultingMovement] = []
        own: dict[str, list[tuple[int, Event]]] = {}  # the decision's own streams, in one pass
        for n, (s, e) in zip(new, decision.events, strict=True):
            own.setdefault(s, []).append((n.stream_version, e))
        for transaction_id in decision.transaction_ids:
            stream = movement_stream(transaction_id)
            if stream in self.pairs:
                pairs, by, first = (
                    self.pairs[stream],
                    self.recorded_by.get(stream),
                    self.recorded_at.get(stream),
                )
            else:
                pairs, by, first = own.get(stream, []), user, at
            if len(pairs) == 1 and isinstance(created := pairs[0][1], Movement):
                # A movement the decision created beside others: its state, unfolded.
                state: MovementState | None = MovementState(
                    created, pairs[0][0], created.approval_status, recorded_by=by
                )
            else:
                state = movement_state(pairs, by)
            movement = None if state is None or first is None else resulting_movement(state, first)
            if movement is None:
                return None
            out.append(movement)
        return tuple(out)


@dataclass
class BatchDecider:
    """The running state of a batch: levels (on hand, reserved), movement count and keys so far."""

    policy: Policy
    now: datetime
    loaded: Loaded
    streams: BatchStreams
    new_id: Callable[[], UUID] | None = None
    keys: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # key: (index, request hash)

    def __post_init__(self) -> None:
        self.levels: dict[StockKey, Decimal] = self.loaded.levels
        self.reserved: dict[StockKey, Decimal] = self.loaded.reserved
        self.count = self.loaded.movements_this_year
        # The last accepted decision moves the levels only when another command follows it: a
        # batch of one (a single command, a big stocktake) never pays for it.
        self._unapplied: Decision | None = None
        self.oraseas_id = next(
            (o.id for o in self.loaded.organizations.values() if o.organization_type == "oraseas_ee"), None
        )

    def decide(
        self, index: int, command: Command, metadata: CommandMetadata, step: tuple[Streams, Needs] | Exception
    ) -> Step:
        """Recall the command's key or decide it; an accepted command moves the batch's state on.

        `step` is what the command reads and needs, or what failed in working that out. A keyed
        command refused (a LedgerError, then or now) is Refused: its refusal is kept under the
        key. Raises the key's kept refusal, and any other failure: nothing changes then.
        """
        key = metadata.idempotency_key
        digest = b""
        if key:
            digest = idempotency.request_hash(command, metadata)
            if key in self.keys:
                first, first_digest = self.keys[key]
                idempotency.same_request(key, digest, first_digest)
                return Replay(first)
            earlier = idempotency.recall(key, digest, self.loaded.earlier.get(key))
            if earlier is not None:
                return earlier
        try:
            if isinstance(step, Exception):
                raise step
            decided = self._decided(command, metadata, *step, digest)
        except LedgerError as error:
            if not key:
                raise
            self.keys[key] = (index, digest)
            return Refused.of(error, key, digest, metadata.request_id)
        if key:
            self.keys[key] = (index, digest)
        return decided

    def _decided(
        self, command: Command, metadata: CommandMetadata, streams: Streams, needs: Needs, digest: bytes
    ) -> Decided:
        """Decide the command against the batch's state so far, and move that state on."""
        self._apply_last()
        found = self.streams.found(streams)
        decision = decide(command, self._context(metadata, needs, found), self.policy)
        new = chain(decision.events, self.streams.heads_of(streams), metadata, self.now)
        self._unapplied = decision
        self.count += decision.new_movements
        user = metadata.performed_by_user_id
        self.streams.extend(new, decision.events, user, self.now)
        movements = self.streams.resulting(decision, new, user, self.now)
        keyed = metadata.idempotency_key is not None
        return Decided(decision, new, metadata, described(decision, movements), digest, keyed)

    def _apply_last(self) -> None:
        """Move the levels by the last accepted decision's stock changes (once)."""
        if self._unapplied is not None:
            for _, event in self._unapplied.events:
                for level, delta in stock_changes(event):
                    self.levels[level] = self.levels.get(level, Decimal(0)) + delta
                for level, delta in reservation_changes(event):
                    self.reserved[level] = self.reserved.get(level, Decimal(0)) + delta
            self._unapplied = None

    def _context(self, metadata: CommandMetadata, needs: Needs, found: Found) -> DecisionContext:
        reads_organizations = needs.organization_ids is not None
        return DecisionContext(
            now=self.now,
            actor=self.loaded.actors.get(metadata.performed_by_user_id),
            parts=self.loaded.parts,
            warehouses=self.loaded.warehouses,
            machines=self.loaded.machines,
            movements=found.movements,
            stock=self.levels,
            reserved=self.reserved,
            movements_this_year=self.count,
            new_id=self.new_id,
            organizations=self.loaded.organizations if reads_organizations else {},
            orders=found.orders,
            oraseas_id=self.oraseas_id if reads_organizations else None,
        )
