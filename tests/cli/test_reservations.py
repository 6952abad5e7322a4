"""`abparts reservations` lists what customer orders hold reserved, from the projection."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from api.cli.main import main
from ledger.orders import commands as c
from tests.api.test_bootstrap import as_url
from tests.ledger.test_orders import Trade, move, order, trade
from tests.projections.conftest import catch_up

pytestmark = pytest.mark.db
__all__ = ["trade"]


def test_open_reservations_are_listed_and_closed_ones_with_all(
    trade: Trade, fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    t = trade
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    kept, cancelled = order(t, "7"), order(t, "3")
    for order_id in (kept, cancelled):
        t.run(c.ConfirmCustomerOrder(order_id=order_id, reserve_warehouse_id=t.depot))
    t.run(c.ShipCustomerOrder(order_id=kept, warehouse_id=t.depot, items=move(t.part, "2")))
    t.run(c.CancelCustomerOrder(order_id=cancelled))
    catch_up(t.conn)
    capsys.readouterr()
    assert main(["reservations", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["customer_order_id"], row["open_quantity"], row["shipped_quantity"]) == (
        str(kept),
        "5.000",
        "2.000",
    )
    assert Decimal(row["reserved_quantity"]) == 7
    assert main(["reservations", "--all", "--json"]) == 0
    statuses = {r["customer_order_id"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert statuses == {str(kept): "open", str(cancelled): "closed"}
    assert main(["reservations", "--order", str(cancelled)]) == 0
    assert capsys.readouterr().out == "no reservations\n"
    assert main(["reservations"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "order",
        "customer",
        "warehouse",
        "part_number",
        "open",
        "reserved",
        "shipped",
        "released",
        "unit",
    ]
    assert line.startswith(str(kept)) and "5.000" in line
