"""The README's recipe for an event's hash and a seal's digest, followed with hashlib and json only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from ledger.postgres.seals import seal
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_an_auditor_recomputes_hashes_and_the_seal_from_the_readme_alone(
    small_ledger: tuple[Conn, Site], tmp_path: Path
) -> None:
    conn, _ = small_ledger
    assert seal(conn) is not None
    target = tmp_path / "export.jsonl"
    assert main(["export", "--format", "jsonl", "--seals", "--output", str(target)]) == 0
    [sealed, *events] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    digest = bytes.fromhex(sealed["previous_digest"])
    heads: dict[str, str] = {}
    for record in events:
        body = {
            k: v
            for k, v in record.items()
            if k not in ("position", "transaction_id", "previous_hash", "hash", "names")
        }
        assert len(body) == 11
        computed = hashlib.sha256(bytes.fromhex(record["previous_hash"]) + canonical(body)).hexdigest()
        assert computed == record["hash"]
        assert record["previous_hash"] == heads.get(record["stream_id"], "00" * 32)
        heads[record["stream_id"]] = record["hash"]
        link = [record["position"], record["transaction_id"], record["stream_id"], record["stream_version"]]
        digest = hashlib.sha256(digest + canonical([*link, record["hash"]])).digest()
    assert digest.hex() == sealed["digest"]
    assert sealed["event_count"] == len(events)
    assert (events[-1]["transaction_id"], events[-1]["position"]) == (
        sealed["through_transaction_id"],
        sealed["through_position"],
    )
