"""Group commit changes nothing a client or an auditor can see: a random list of commands run as one
batch gives the same log, levels and per-command outcomes as the same list run one by one (ids,
positions and timestamps aside).

Two sites with the same shape in one database: the same operations run one by one at the first and
as one batch at the second; what each site's log says is compared with its ids replaced by names.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.stock.commands import answered, recorded
from ledger.commands import CreateStock, StockCommand
from ledger.errors import LedgerError
from ledger.policy import Limits, NegativeStockPolicy, Policy
from ledger.postgres.batch import Item, Outcome
from ledger.postgres.seals import audit
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.ledger import Conn, Site, actor, make_site
from tests.fixtures.world import World
from tests.properties.test_ledger_properties import operations, to_command

pytestmark = pytest.mark.db
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SETUP = [
    ("part", "a", "5"),
    ("part", "a", "20"),
    ("bulk", "b", "20"),
    ("bulk", "a", "2.5"),
    ("part", "b", "1"),
]


class Side:
    """One site, its setup movements, and the names its ids go by in the comparison."""

    def __init__(self, conn: Conn, ledger: PostgresLedger, tag: str) -> None:
        self.conn, self.ledger, self.tag = conn, ledger, tag
        self.site: Site = make_site(World(conn))
        s = self.site
        self.names = {str(v): k for k, v in vars(s).items() if isinstance(v, uuid.UUID)}
        self.ids: list[uuid.UUID] = []
        for part, warehouse, quantity in SETUP:
            create = CreateStock(
                part_id=getattr(s, part), to_warehouse_id=getattr(s, warehouse), quantity=Decimal(quantity)
            )
            self.ids.extend(ledger.execute(conn, create, CommandMetadata(s.user)).transaction_ids)
        self.first_position = self.head()

    def head(self) -> int:
        row = self.conn.execute("SELECT coalesce(max(position), 0) FROM ledger_events").fetchone()
        assert row is not None
        return int(row[0])

    def items(self, ops: list[tuple[Any, ...]]) -> list[Item]:
        """The operations as this site's commands; a `retry` repeats an earlier one with its key."""
        s = self.site
        made: list[Item] = []
        for n, op in enumerate(ops):
            if op[0] == "retry":
                if made:
                    made.append(made[op[6] % len(made)])
                continue
            command: StockCommand | None = to_command(op, [s.a, s.b], [s.part, s.bulk], self.ids)
            if command is not None:
                key = f"{self.tag}-{n}" if op[6] % 2 else None
                made.append((command, CommandMetadata(actor(s, command), idempotency_key=key)))
        return made

    def named(self, text: str) -> str:
        """`text` with this site's ids as names and other ids (new movements) numbered in order."""
        return UUID_TEXT.sub(lambda m: self.names.setdefault(m[0], f"t{len(self.names)}"), text)

    def log(self) -> list[tuple[str, int, str, str]]:
        rows = self.conn.execute(
            "SELECT stream_id, stream_version, event_type, (payload - 'transaction_date')::text"
            " FROM ledger_events WHERE position > %s AND performed_by_user_id = ANY(%s) ORDER BY position",
            [self.first_position, [self.site.user, self.site.approver]],
        ).fetchall()
        return [(self.named(r[0]), r[1], r[2], self.named(r[3])) for r in rows]

    def levels(self) -> dict[tuple[str, str], Decimal]:
        rows = self.conn.execute(
            "SELECT warehouse_id, part_id, on_hand FROM ledger_stock_levels WHERE warehouse_id = ANY(%s)",
            [[self.site.a, self.site.b]],
        ).fetchall()
        return {(self.names[str(r[0])], self.names[str(r[1])]): r[2] for r in rows if r[2] != 0}


def shape(outcome: Outcome) -> tuple[object, ...]:
    """What a client sees of an outcome, ids and positions aside."""
    if not isinstance(outcome, CommandResult):
        return (type(outcome).__name__,)
    return (
        [(e.stream_version, e.event_type) for e in outcome.events],
        len(outcome.transaction_ids),
        [(w.code, w.resulting_stock) for w in outcome.warnings],
        outcome.replayed,
        # The movements as the command left them (its answer): None would mean a re-read.
        None
        if outcome.movements is None
        else [(m.transaction_type, m.approval_status, m.quantity, m.notes) for m in outcome.movements],
    )


def alone(side: Side, batch: list[Item]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for command, metadata in batch:
        try:
            outcomes.append(side.ledger.execute(side.conn, command, metadata))
        except Exception as error:  # the outcome, as execute_batch gives it
            outcomes.append(error)
    return outcomes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations(), reject=st.booleans())
def test_one_batch_is_the_same_as_one_by_one(conn: Conn, ops: list[tuple[Any, ...]], reject: bool) -> None:
    policy = Policy(
        negative_stock=NegativeStockPolicy.REJECT if reject else NegativeStockPolicy.WARN,
        approval_quantity_threshold=Decimal(15),
        limits=Limits(transactions_per_year=10**9),
    )
    ledger = PostgresLedger(policy)
    tag = uuid.uuid4().hex[:8]
    single, batched = Side(conn, ledger, f"one-{tag}"), Side(conn, ledger, f"all-{tag}")
    one_by_one = alone(single, single.items(ops))
    together = ledger.execute_batch(conn, batched.items(ops))
    assert [shape(o) for o in together] == [shape(o) for o in one_by_one]
    assert batched.log() == single.log()
    assert batched.levels() == single.levels()
    positions = [
        o.position for o in together if isinstance(o, CommandResult) and not o.replayed and o.position
    ]
    assert positions == sorted(positions)
    assert audit(conn).ok


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations())
def test_each_answer_from_the_result_is_what_the_log_says_after_it(
    conn: Conn, ops: list[tuple[Any, ...]]
) -> None:
    # One by one, each command's answer built from its result equals, byte for byte, the answer
    # read back from the log right after it; a replay equals the first answer of its key. With the
    # batch property above, a batched command answers what it would alone.
    ledger = PostgresLedger(
        Policy(approval_quantity_threshold=Decimal(15), limits=Limits(transactions_per_year=10**9))
    )
    side = Side(conn, ledger, f"ans-{uuid.uuid4().hex[:8]}")
    first: dict[str, str] = {}
    for command, metadata in side.items(ops):
        try:
            outcome = ledger.execute(conn, command, metadata)
        except LedgerError:
            continue
        answer = answered(outcome)
        assert answer is not None, "the result does not carry its movements"
        text = answer.model_dump_json()
        if outcome.replayed:
            assert metadata.idempotency_key is not None
            assert text == first[metadata.idempotency_key]
            continue
        assert text == recorded(conn, outcome).model_dump_json()
        if metadata.idempotency_key:
            first[metadata.idempotency_key] = text
