"""Settings come from ABPARTS_* variables, are validated, and default to the spec's caps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from api.runtime.settings import Settings
from ledger.policy import NegativeStockPolicy


def test_defaults_are_the_specs_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    limits = Settings().limits()
    assert (limits.customers, limits.users, limits.parts) == (100, 200, 200)
    assert (limits.machines, limits.warehouses, limits.transactions_per_year) == (150, 150, 7500)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABPARTS_MAX_PARTS", "20000")
    monkeypatch.setenv("ABPARTS_NEGATIVE_STOCK_POLICY", "reject")
    monkeypatch.setenv("ABPARTS_APPROVAL_QUANTITY_THRESHOLD", "500.5")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    settings = Settings()
    policy = settings.policy()
    assert policy.limits.parts == 20000
    assert policy.negative_stock is NegativeStockPolicy.REJECT
    assert policy.approval_quantity_threshold == Decimal("500.5")
    assert settings.database_url == "postgresql://u@localhost/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("ABPARTS_NEGATIVE_STOCK_POLICY", "maybe"),
        ("ABPARTS_MAX_USERS", "-1"),
        ("ABPARTS_APPROVAL_VALUE_THRESHOLD", "0"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
