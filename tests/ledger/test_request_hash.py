"""A keyed command's request hash is a stored contract: a retry after an upgrade must match the row."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ledger.commands import CreateStock
from ledger.postgres.idempotency import request_hash
from ledger.recorded import CommandMetadata


def test_the_request_hash_is_the_one_earlier_versions_stored() -> None:
    metadata = CommandMetadata(performed_by_user_id=UUID(int=7), idempotency_key="k")
    command = CreateStock(
        part_id=UUID(int=1), to_warehouse_id=UUID(int=2), quantity=Decimal("1.50"), notes="crème"
    )

    # sha256 of the canonical JSON of [type, fields, user], as computed before this version.
    assert request_hash(command, metadata).hex() == (
        "6ef5cc0d4b27e497372b9f0706d43ec7da8b23a786a7d0503ca53347a602371a"
    )
