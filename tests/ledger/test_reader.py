"""The commit-safe reader never skips an event whose transaction commits late."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from ledger.commands import CreateStock
from ledger.postgres.reader import follow, read_events
from ledger.recorded import START
from tests.fixtures.ledger import Conn, Site, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal


@pytest.fixture
def three(fresh_db_url: str) -> Iterator[tuple[Conn, Conn, Conn, Site]]:
    """Three connections to a database of the test's own: two writers and a reader."""
    with (
        psycopg.connect(fresh_db_url, autocommit=True) as a,
        psycopg.connect(fresh_db_url, autocommit=True) as b,
        psycopg.connect(fresh_db_url, autocommit=True) as reader,
    ):
        yield a, b, reader, make_site(World(reader))


def create(conn: Conn, site: Site, quantity: int, part: UUID | None = None) -> int:
    """Create stock of `part` (default the site's part) in warehouse a; return its position."""
    command = CreateStock(part_id=part or site.part, to_warehouse_id=site.a, quantity=D(quantity))
    result = run(conn, command, site)
    assert result.position is not None
    return result.position


def test_an_earlier_position_committing_late_is_not_skipped(three: tuple[Conn, Conn, Conn, Site]) -> None:
    a, b, reader, site = three
    with a.transaction():
        early = create(a, site, 1)  # position taken first, commit held back
        late = create(b, site, 2, site.bulk)  # a later position, committed at once
        assert late > early
        # A naive "position > last seen" follower would take `late` now and skip `early` forever.
        assert read_events(reader) == []
    events = read_events(reader)
    assert [e.position for e in events] == [early, late]


def test_an_older_transaction_inserting_later_comes_first(three: tuple[Conn, Conn, Conn, Site]) -> None:
    a, b, reader, site = three
    with a.transaction():
        a.execute("SELECT pg_current_xact_id()")  # a's transaction starts (gets its xid) first
        first_committed = create(b, site, 1, site.bulk)
        assert [e.position for e in read_events(reader)] == []
        held = create(a, site, 2)
        assert held > first_committed
    checkpoint_order = [e.position for e in read_events(reader)]
    assert checkpoint_order == [held, first_committed]


def test_follow_resumes_from_a_checkpoint_in_batches(three: tuple[Conn, Conn, Conn, Site]) -> None:
    a, _, reader, site = three
    positions = [create(a, site, n) for n in range(1, 8)]
    first = read_events(reader, START, limit=3)
    rest = list(follow(reader, first[-1].checkpoint, batch=2))
    assert [e.position for e in first + rest] == positions
    assert list(follow(reader, rest[-1].checkpoint)) == []
