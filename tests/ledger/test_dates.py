"""The range of a movement's date, held by decide() for every entry point, and the text it accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledger import errors
from ledger.commands import CountedItem, CountStock, CreateStock
from ledger.orders.commands import RequestCustomerOrder
from ledger.policy import Policy
from tests.ledger.scenario import NOW, Scenario

PLUS_14 = timezone(timedelta(hours=14))


def create(s: Scenario, date: datetime) -> CreateStock:
    return CreateStock(
        part_id=s.part(), to_warehouse_id=s.warehouse(), quantity=Decimal(1), transaction_date=date
    )


@pytest.mark.parametrize(
    "date",
    [
        datetime(1, 1, 1, tzinfo=PLUS_14),  # year 0 in UTC
        datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=14))),  # year 10000 in UTC
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(3000, 1, 1, tzinfo=UTC),
    ],
)
def test_a_command_refuses_a_moment_no_reader_can_show(date: datetime) -> None:
    with pytest.raises(ValidationError) as refused:
        CreateStock.model_validate(
            {"part_id": "0" * 32, "to_warehouse_id": "1" * 32, "quantity": 1, "transaction_date": date}
        )
    assert [e["type"] for e in refused.value.errors()] == ["date_out_of_range"]


def test_an_order_command_refuses_one_too() -> None:
    with pytest.raises(ValidationError) as refused:
        RequestCustomerOrder.model_validate(
            {
                "customer_organization_id": "0" * 32,
                "items": [{"part_id": "1" * 32, "quantity": 1}],
                "expected_delivery_date": datetime(1, 1, 1, tzinfo=PLUS_14),
            }
        )
    assert "date_out_of_range" in [e["type"] for e in refused.value.errors()]


def test_decide_keeps_dates_between_the_earliest_and_now_plus_the_skew() -> None:
    s = Scenario(
        policy=Policy(
            earliest_date=datetime(2020, 1, 1, tzinfo=UTC),
            max_future_skew=timedelta(hours=1),
            backdate_window=timedelta(days=36500),
        )
    )
    for date in (datetime(2020, 1, 1, tzinfo=UTC), NOW + timedelta(minutes=59)):
        assert s.record(create(s, date)).events
    for date in (datetime(2019, 12, 31, 23, 59, tzinfo=UTC), NOW + timedelta(minutes=61)):
        with pytest.raises(errors.DateOutOfRange) as refused:
            s.when(create(s, date))
        assert refused.value.code == "date_out_of_range"
        assert refused.value.details["field"] == "transaction_date"


def test_a_stocktake_is_held_to_the_same_range() -> None:
    s = Scenario(
        policy=Policy(earliest_date=datetime(2020, 1, 1, tzinfo=UTC), backdate_window=timedelta(days=36500))
    )
    wh, part = s.warehouse(), s.part()
    with pytest.raises(errors.DateOutOfRange):
        s.when(
            CountStock(
                warehouse_id=wh,
                items=(CountedItem(part_id=part, counted_quantity=Decimal(2)),),
                transaction_date=datetime(2019, 6, 1, tzinfo=UTC),
            )
        )


def test_a_movement_may_be_backdated_within_the_window_only() -> None:
    s = Scenario(policy=Policy(backdate_window=timedelta(days=30)))
    assert s.record(create(s, NOW - timedelta(days=30))).events
    with pytest.raises(errors.BackdatedTooFar) as refused:
        s.when(create(s, NOW - timedelta(days=30, seconds=1)))
    assert refused.value.code == "backdated_too_far"
    assert refused.value.details["field"] == "transaction_date"
    assert refused.value.details["earliest"] == (NOW - timedelta(days=30)).isoformat()


def test_the_default_window_is_thirty_days_and_binds_stocktakes() -> None:
    s = Scenario()
    wh, part = s.warehouse(), s.part()
    with pytest.raises(errors.BackdatedTooFar):
        s.when(
            CountStock(
                warehouse_id=wh,
                items=(CountedItem(part_id=part, counted_quantity=Decimal(2)),),
                transaction_date=NOW - timedelta(days=31),
            )
        )


def test_a_policy_cannot_reach_before_what_readers_show() -> None:
    with pytest.raises(ValidationError):
        Policy(earliest_date=datetime(1900, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("text", ["\x00", "\ud800", "ok \udc00"])
def test_commands_refuse_text_postgres_cannot_store(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CreateStock.model_validate(
            {"part_id": "0" * 32, "to_warehouse_id": "1" * 32, "quantity": 1, "notes": text}
        )
    # pydantic itself refuses a lone surrogate in a str (string_unicode); NUL is ours to refuse.
    assert [e["type"] for e in refused.value.errors()] in (["invalid_text"], ["string_unicode"])
