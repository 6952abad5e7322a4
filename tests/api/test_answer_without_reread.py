"""A stock command's answer is built from what the ledger decided and appended: no read of the log.

Each stock route's 201 body must equal, field for field, the answer the log gives when read back
for the same result (`commands.recorded`, which reads the movements' streams), and must be made
without that read (`queries.movements` is not called). Results stored under an Idempotency-Key
before the movements were kept still answer, by the read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.stock import commands
from api.http.stock.schemas import Recorded
from ledger.commands import ApproveMovement, CreateStock, ReverseMovement
from ledger.policy import Policy
from ledger.postgres import queries
from ledger.postgres.batch import Item
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.api import Caller, Tenants, api_settings
from tests.fixtures.ledger import Conn, make_site
from tests.fixtures.shop import Shop
from tests.fixtures.world import World

pytestmark = pytest.mark.db


@pytest.fixture(params=[1, 0], ids=["group-commit", "no-committer"])
def held_client(request: pytest.FixtureRequest, api_db_url: str) -> Iterator[TestClient]:
    """An app that holds movements of more than 50 units for approval, with or without committers."""
    settings = api_settings(
        run_projectors=False, committers=request.param, approval_quantity_threshold=Decimal(50)
    )
    with TestClient(create_app(settings, api_db_url)) as client:
        yield client


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[UUID, ...]]:
    """Every call of `queries.movements` (the re-read), recorded; it still reads."""
    calls: list[tuple[UUID, ...]] = []
    real = queries.movements

    def counted(conn: Conn, transaction_ids: tuple[UUID, ...]) -> dict[UUID, queries.Movement]:
        calls.append(transaction_ids)
        return real(conn, transaction_ids)

    monkeypatch.setattr(queries, "movements", counted)
    return calls


def _reread(db: Conn, body: dict[str, Any]) -> dict[str, Any]:
    """The answer the log gives for the same result (ids, position, warnings): the old path."""
    result = CommandResult(
        position=body["position"],
        log_transaction_id=None,
        events=(),
        transaction_ids=tuple(UUID(t["id"]) for t in body["transactions"]),
        warnings=tuple(body["warnings"]),
    )
    answer: dict[str, Any] = json.loads(commands.recorded(db, result).model_dump_json())
    return answer


Post = Callable[[Caller, str, dict[str, Any]], dict[str, Any]]


def _poster(client: TestClient, db: Conn, reads: list[tuple[UUID, ...]]) -> Post:
    def post(caller: Caller, path: str, body: dict[str, Any]) -> dict[str, Any]:
        before = len(reads)
        response = client.post(path, json=body, headers=caller.headers)
        assert response.status_code == 201, response.text
        assert len(reads) == before, f"{path} read the movements back to answer"
        answer: dict[str, Any] = response.json()
        assert answer["transactions"], path
        assert answer == _reread(db, answer), f"{path}: the answer is not what the log says"
        assert set(answer) == set(Recorded.model_fields)
        return answer

    return post


def _ids(answer: dict[str, Any]) -> list[str]:
    return [t["id"] for t in answer["transactions"]]


def test_every_stock_route_answers_what_the_log_says_without_reading_it(
    held_client: TestClient, tenants: Tenants, db: Conn, reads: list[tuple[UUID, ...]]
) -> None:
    shop = Shop(tenants, db)
    approver = tenants.user(shop.org, "admin")
    # Bulk material, so quantities keep their decimals.
    db.execute(
        "UPDATE parts SET part_type = 'bulk_material', unit_of_measure = 'litres' WHERE id = %s", [shop.part]
    )
    post = _poster(held_client, db, reads)
    part, a, b = str(shop.part), str(shop.a), str(shop.b)
    # An offset and microseconds, as the client sent them: kept as the log keeps them.
    dated = (datetime.now(timezone(timedelta(hours=2))) - timedelta(days=1)).replace(microsecond=891234)
    post(shop.admin, "/transactions", {"transaction_type": "creation", "part_id": part,
         "to_warehouse_id": a, "quantity": "40.125", "notes": "in", "reference_number": "R-1",
         "transaction_date": dated.isoformat()})  # fmt: skip
    post(shop.admin, "/transactions", {"transaction_type": "transfer", "part_id": part,
         "from_warehouse_id": a, "to_warehouse_id": b, "quantity": "2.5"})  # fmt: skip
    post(shop.user, "/transactions", {"transaction_type": "consumption", "part_id": part,
         "from_warehouse_id": a, "machine_id": str(shop.machine), "quantity": "1"})  # fmt: skip
    post(shop.admin, "/transactions", {"transaction_type": "adjustment", "part_id": part,
         "from_warehouse_id": b, "quantity": "0.5", "reason_code": "damaged"})  # fmt: skip
    post(shop.admin, "/stock-adjustments", {"warehouse_id": a, "part_id": part,
         "quantity_adjusted": "-1.000", "reason_code": "lost", "notes": "shelf"})  # fmt: skip
    post(shop.admin, "/part-usage", {"machine_id": str(shop.machine), "part_id": part,
         "warehouse_id": a, "quantity": "0.250"})  # fmt: skip
    counted = post(shop.admin, "/stocktakes", {"warehouse_id": a, "notes": "year end",
                   "items": [{"part_id": part, "counted_quantity": "30"}]})  # fmt: skip
    assert counted["transactions"][0]["transaction_type"] == "adjustment"
    # A movement held for approval, then approved; another held and rejected; the first reversed.
    held = post(shop.admin, "/transactions", {"transaction_type": "creation", "part_id": part,
                "to_warehouse_id": a, "quantity": "60"})  # fmt: skip
    assert held["transactions"][0]["approval_status"] == "pending"
    approved = post(approver, f"/transactions/{_ids(held)[0]}/approve", {"notes": "ok"})
    assert approved["transactions"][0]["approval_status"] == "approved"
    assert approved["transactions"][0]["created_at"] == held["transactions"][0]["created_at"]
    assert approved["transactions"][0]["performed_by_user_id"] == str(shop.admin.user_id)
    other = post(shop.admin, "/transactions", {"transaction_type": "creation", "part_id": part,
                 "to_warehouse_id": b, "quantity": "70"})  # fmt: skip
    rejected = post(approver, f"/transactions/{_ids(other)[0]}/reject", {})
    assert rejected["transactions"][0]["approval_status"] == "rejected"
    reversed_ = post(approver, f"/transactions/{_ids(held)[0]}/reverse", {"notes": "wrong"})
    assert len(reversed_["transactions"]) == 2 and _ids(reversed_)[1] == _ids(held)[0]
    assert reversed_["transactions"][0]["performed_by_user_id"] == str(approver.user_id)


def test_a_stocktake_of_many_parts_answers_every_adjustment_without_reading(
    held_client: TestClient, tenants: Tenants, db: Conn, reads: list[tuple[UUID, ...]]
) -> None:
    shop = Shop(tenants, db)
    parts = [shop.part, *(Shop(tenants, db).part for _ in range(3))]
    items = [{"part_id": str(p), "counted_quantity": str(n + 1)} for n, p in enumerate(parts)]
    answer = _poster(held_client, db, reads)(
        shop.admin, "/stocktakes", {"warehouse_id": str(shop.a), "items": items}
    )
    assert len(answer["transactions"]) == len(parts)


def test_a_ledger_replay_answers_the_same_and_an_old_stored_result_is_read_back(
    held_client: TestClient, shop: Shop, db: Conn, reads: list[tuple[UUID, ...]]
) -> None:
    body = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a),
            "quantity": "3"}  # fmt: skip
    key = f"fast-{uuid.uuid4()}"
    headers = shop.admin.headers | {"Idempotency-Key": key}
    first = held_client.post("/transactions", json=body, headers=headers)
    assert first.status_code == 201 and not reads
    stored = f"{shop.admin.user_id}:{key}"
    db.execute("DELETE FROM api_idempotency")  # the HTTP answer lost: the ledger replays its result
    again = held_client.post("/transactions", json=body, headers=headers)
    assert again.headers["idempotent-replay"] == "true" and not reads
    assert again.json() == first.json()
    # A result stored before results carried their movements: answered by reading them back.
    db.execute("UPDATE ledger_idempotency SET result = result - 'movements' WHERE key = %s", [stored])
    db.execute("DELETE FROM api_idempotency")
    old = held_client.post("/transactions", json=body, headers=headers)
    assert old.headers["idempotent-replay"] == "true" and len(reads) == 1
    assert old.json() == first.json()


def _same_as_the_log(conn: Conn, outcome: object) -> Recorded:
    """The answer built from `outcome` (a CommandResult), checked byte for byte against the read."""
    assert isinstance(outcome, CommandResult), outcome
    answer = commands.answered(outcome)
    assert answer is not None, "the result does not carry its movements"
    assert answer.model_dump_json() == commands.recorded(conn, outcome).model_dump_json()
    return answer


def test_commands_on_one_movement_in_one_batch_each_answer_as_it_left_it(conn: Conn, world: World) -> None:
    site = make_site(world)
    movement = uuid.uuid4()
    ids = iter([movement, uuid.uuid4(), uuid.uuid4()])
    ledger = PostgresLedger(Policy(approval_quantity_threshold=Decimal(15)), new_id=lambda: next(ids))
    create = CreateStock(part_id=site.bulk, to_warehouse_id=site.a, quantity=Decimal("20.5"))
    approve, reverse = ApproveMovement(transaction_id=movement), ReverseMovement(transaction_id=movement)
    other = CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=Decimal(3))
    batch: list[Item] = [
        (create, CommandMetadata(performed_by_user_id=site.user)),
        (approve, CommandMetadata(performed_by_user_id=site.approver)),
        (other, CommandMetadata(performed_by_user_id=site.approver, idempotency_key=f"k-{uuid.uuid4()}")),
        (reverse, CommandMetadata(performed_by_user_id=site.approver)),
    ]
    first, *rest = ledger.execute_batch(conn, batch)
    approved, keyed, reversed_ = (_same_as_the_log(conn, o) for o in rest)
    assert approved.transactions[0].approval_status == "approved"
    assert approved.transactions[0].performed_by_user_id == site.user
    assert [t.id for t in reversed_.transactions][1] == movement
    # The creation answers the movement as it left it (pending), not as the approval after it in
    # the same batch left it: what it would answer had it committed alone.
    assert isinstance(first, CommandResult)
    created = commands.answered(first)
    assert created is not None and created.transactions[0].approval_status == "pending"
    now = commands.recorded(conn, first).transactions[0]
    assert created.transactions[0] == now.model_copy(update={"approval_status": "pending"})
    # The keyed one's stored result carries its movements: a replay answers alike, with no read.
    replay = ledger.execute(conn, other, batch[2][1])
    assert replay.replayed and _same_as_the_log(conn, replay) == keyed
