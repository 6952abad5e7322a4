"""Every payload key the hand-written SQL reads is a field of an event that SQL filters on.

The read side reads the log's JSON payloads in SQL (`payload->>'part_id'`,
`jsonb_array_elements(payload->'lines') AS line` then `line->>'quantity'`), the
write side writes them from pydantic models: this test holds the two languages
together. It imports every module of the packages, takes each module-level SQL
statement (f-strings already filled in, so `{MOVEMENT_EVENTS}` counts), finds
the event types the statement names and the keys it reads, and checks each key
against those events' fields (nested keys against the line models). A statement
naming no event type may read any event, so its keys must be a field of some event.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from ledger.events import EVENT_TYPES, Event

PACKAGES = ("ledger", "projections", "api", "bench")
STATEMENT = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(WITH|SELECT|INSERT|UPDATE|DELETE|CREATE)\b", re.IGNORECASE)
# `payload->>'k'`, `payload->'k'`, `b.payload ->> 'k'`, `payload ? 'k'`
TOP_KEY = re.compile(r"\bpayload\s*(?:->>|->|\?)\s*'(\w+)'")
# `payload #>> '{a,b}'`: a path, its first element a top-level key
PATH = re.compile(r"\bpayload\s*#>>?\s*'\{([^}]*)\}'")
# `jsonb_array_elements(b.payload->'lines') AS line`: `line` is an element of the field `lines`
ELEMENTS = re.compile(
    r"jsonb_array_elements\(\s*(?:\w+\.)?payload\s*->\s*'(\w+)'\s*\)\s*(?:WITH\s+ORDINALITY\s+)?(?:AS\s+)?(\w+)",
    re.IGNORECASE,
)
CAMEL_LITERAL = re.compile(r"'([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)'")
PAYLOAD_REFERENCE = re.compile(r"\b(?:payload|line)\s*(?:->>|->|#>>|#>|\?)\s*'")


@dataclass(frozen=True)
class Statement:
    """One SQL statement found in a module."""

    where: str
    sql: str


def modules() -> Iterator[ModuleType]:
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def sql_constants() -> list[Statement]:
    """Every module-level string of the packages that reads a payload, statements and fragments alike."""
    found = []
    for module in modules():
        for name, value in vars(module).items():
            if isinstance(value, str) and PAYLOAD_REFERENCE.search(value):
                found.append(Statement(f"{module.__name__}.{name}", value))
    return found


def item_models(cls: type[BaseModel], field: str) -> list[type[BaseModel]]:
    """The models an array field's elements are (for `lines: tuple[OrderLine, ...]`: OrderLine)."""
    info = cls.model_fields.get(field)
    if info is None:
        return []
    args = typing.get_args(info.annotation)
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def problems(sql: str, registry: dict[str, type[Event]] = EVENT_TYPES) -> list[str]:
    """What in one statement does not match the event contract (empty: all of it does)."""
    named = CAMEL_LITERAL.findall(sql)
    wrong = [f"unknown event type {name!r}" for name in named if name not in registry]
    events = list(dict.fromkeys(registry[name] for name in named if name in registry)) or list(
        registry.values()
    )
    found: list[str] = []
    top = TOP_KEY.findall(sql) + [path.split(",")[0].strip() for path in PATH.findall(sql)]
    for key in top:
        if not any(key in cls.model_fields for cls in events):
            found.append(f"payload key {key!r} is a field of none of {sorted(c.event_type for c in events)}")
    for field, alias in ELEMENTS.findall(sql):
        models = [m for cls in events for m in item_models(cls, field)]
        if not models:
            found.append(f"payload array {field!r} holds no model in any of the filtered events")
        for key in re.findall(rf"\b{alias}\s*(?:->>|->|\?)\s*'(\w+)'", sql):
            if not any(key in m.model_fields for m in models):
                found.append(
                    f"{alias} key {key!r} ({field}[]) is a field of none of {[m.__name__ for m in models]}"
                )
    return wrong + sorted(set(found))


def test_every_payload_key_the_sql_reads_is_a_field_of_an_event_it_filters_on() -> None:
    constants = sql_constants()
    statements = [s for s in constants if STATEMENT.match(s.sql)]
    failures = {s.where: p for s in statements if (p := problems(s.sql))}
    assert failures == {}
    # A fragment (a CTE, a WHERE clause) is checked inside the statements it is part of.
    loose = [
        f.where for f in constants if f not in statements and not any(f.sql in s.sql for s in statements)
    ]
    assert loose == []


def test_the_scan_covers_every_module_that_reads_payloads() -> None:
    scanned = {s.where.rsplit(".", 1)[0] for s in sql_constants()}
    root = Path(__file__).resolve().parents[2]
    reading = {
        ".".join(path.relative_to(root).with_suffix("").parts)
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if PAYLOAD_REFERENCE.search(path.read_text())
    }
    assert reading and reading <= scanned


def test_a_misspelt_key_or_event_type_is_caught() -> None:
    assert problems("SELECT payload->>'part_id' FROM batch WHERE event_type = 'StockCreated'") == []
    assert problems("SELECT payload->>'part_idd' FROM batch WHERE event_type = 'StockCreated'") == [
        "payload key 'part_idd' is a field of none of ['StockCreated']"
    ]
    # A real key, but of an event the statement does not read.
    assert problems("SELECT payload->>'order_id' FROM batch WHERE event_type = 'StockCreated'") == [
        "payload key 'order_id' is a field of none of ['StockCreated']"
    ]
    assert problems("SELECT 1 FROM batch WHERE event_type = 'StockCreatd'") == [
        "unknown event type 'StockCreatd'"
    ]
    assert problems("SELECT payload #>> '{quantiy}' FROM ledger_events") == [
        f"payload key 'quantiy' is a field of none of {sorted(EVENT_TYPES)}"
    ]


def test_a_misspelt_key_of_an_array_element_is_caught() -> None:
    sql = """SELECT (line->>'part_id')::uuid, (line->>'quantty')::numeric
    FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.payload->'lines') AS line
    WHERE b.event_type = 'CustomerOrderShipped'"""
    assert problems(sql) == ["line key 'quantty' (lines[]) is a field of none of ['MovedLine']"]
    assert problems(sql.replace("quantty", "quantity")) == []
