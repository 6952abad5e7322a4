"""The log is append-only, and a change made behind the trigger's back is detected."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from ledger.commands import CreateStock, TransferStock
from ledger.postgres.seals import audit, seal
from tests.fixtures.ledger import Conn, Site, forge, make_site, run
from tests.fixtures.world import World

pytestmark = pytest.mark.db
D = Decimal


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own with a few recorded movements."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(10)), site)
        run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D(1)), site)
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(3)),
            site,
        )
        yield conn, site


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_events SET payload = '{}'",
        "DELETE FROM ledger_events",
        "TRUNCATE ledger_events",
        "UPDATE ledger_seals SET digest = digest",
        "DELETE FROM ledger_seals",
        "TRUNCATE ledger_seals",
    ],
)
def test_log_and_seals_refuse_update_delete_truncate(own: tuple[Conn, Site], statement: str) -> None:
    conn, _ = own
    assert seal(conn) is not None
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute(statement)


def test_writers_cannot_choose_their_transaction_id(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    with pytest.raises(psycopg.errors.CheckViolation, match="ledger_events_writer_xid_is_writer"):
        conn.execute(
            "INSERT INTO ledger_events (stream_id, stream_version, event_type, payload, recorded_at,"
            " previous_hash, hash, writer_xid) VALUES ('x-1', 1, 'X', '{}', now(),"
            " decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), '1'::xid8)"
        )
    with conn.transaction():  # naming its own xid is allowed, and is what the default does
        conn.execute(
            "INSERT INTO ledger_events (stream_id, stream_version, event_type, payload, recorded_at,"
            " previous_hash, hash, writer_xid) VALUES ('x-1', 1, 'X', '{}', now(),"
            " decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), pg_current_xact_id())"
        )
        row = conn.execute(
            "SELECT writer_xid = pg_current_xact_id() FROM ledger_events WHERE stream_id = 'x-1'"
        ).fetchone()
        assert row == (True,)
        raise psycopg.Rollback()


def test_an_untouched_log_audits_clean(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    first = seal(conn)
    assert first is not None and first.event_count == 3
    assert seal(conn) is None  # nothing new to seal
    report = audit(conn)
    assert report.ok, report.problems
    assert (report.events_checked, report.streams_checked, report.seals_checked) == (3, 3, 1)


def behind_the_trigger(conn: Conn, statement: str) -> None:
    """What a superuser could do: disable the guards, change a row, restore them."""
    forge(conn, statement)


def test_a_changed_payload_is_detected(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    behind_the_trigger(
        conn,
        "UPDATE ledger_events SET payload = jsonb_set(payload, '{quantity}', '\"30\"')"
        " WHERE event_type = 'StockTransferred'",
    )
    report = audit(conn)
    assert not report.ok
    assert any("content does not match its hash" in p for p in report.problems)


def test_a_removed_event_is_detected_by_the_seal(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    seal(conn)
    # The removed event is alone in its stream: no chain notices, only the seal.
    behind_the_trigger(conn, "DELETE FROM ledger_events WHERE event_type = 'StockTransferred'")
    problems = audit(conn).problems
    assert any("digest differs" in p for p in problems)
    assert any("covers 3 events, the log now has 2" in p for p in problems)


def test_a_reordered_log_is_detected_by_the_seal(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    seal(conn)
    behind_the_trigger(
        conn,
        # Moves the first event to the end of the commit-safe order.
        "UPDATE ledger_events SET writer_xid = pg_current_xact_id()"
        " WHERE position = (SELECT min(position) FROM ledger_events)",
    )
    assert any("digest differs" in p for p in audit(conn).problems)
