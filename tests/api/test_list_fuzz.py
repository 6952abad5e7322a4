"""Every GET with query parameters, read from the OpenAPI document and fuzzed: any cursor or filter is a 4xx.

A cursor and a filter are client input. Whatever a client sends (JSON of the
wrong types in a cursor, NUL, lone surrogates, huge numbers, odd dates) must
be refused with a problem `code`, never answered with a 500.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.api import Caller

pytestmark = pytest.mark.db

# Already percent-encoded: values a careless decoder or adapter trips on.
SPECIALS = [
    "%00",
    "a%00b",
    "%ED%A0%80",
    "%F0%9F%92%A9",
    "%FF%FE",
    "1e400",
    "-1",
    "0",
    "9223372036854775808",
    "99999999999999999999999999999999",
    "NaN",
    "Infinity",
    "true",
    "0001-01-01T00%3A00%3A00%2B14%3A00",
    "9999-12-31T23%3A59%3A59-14%3A00",
    "2024-01-01T00%3A00%3A00%2B23%3A59",
    "294277-01-01",
    "2024-02-30",
    "00000000-0000-0000-0000-000000000000",
]

# Text that includes lone surrogates and NUL (the default text strategy leaves surrogates out).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(["\ud800", "\x00"])
KEY_LIKE = st.one_of(
    ANY_TEXT,
    st.uuids().map(str),
    st.datetimes().map(lambda d: d.isoformat() + "+00:00"),
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2024-01-01T00:00:00+23:59"]),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
)
JSON_VALUES = st.recursive(
    KEY_LIKE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


CURSORS = st.one_of(
    # Lists of one to three key-like values: these pass a mere length check and reach the SQL.
    st.lists(KEY_LIKE, min_size=1, max_size=3).map(_b64),
    JSON_VALUES.map(_b64),
    ANY_TEXT.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.integers().map(str),
    st.sampled_from(SPECIALS),
)
VALUES = st.one_of(
    st.sampled_from(SPECIALS),
    ANY_TEXT.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.binary(max_size=8).map(lambda b: quote_from_bytes(b, safe="")),
    st.integers().map(str),
    st.uuids().map(str),
    st.datetimes().map(lambda d: quote(d.isoformat(), safe="")),
)


def _values(name: str) -> st.SearchStrategy[str]:
    return CURSORS if name == "cursor" else VALUES


def read_operations(app: FastAPI) -> list[tuple[str, list[str]]]:
    """(path, query parameter names) of every GET operation that declares query parameters."""
    found = []
    for path, item in app.openapi()["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        if names:
            found.append((path, names))
    return found


def _url(path: str, query: dict[str, str]) -> str:
    concrete = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
    return concrete + "?" + "&".join(f"{name}={value}" for name, value in query.items())


def _fuzz(client: TestClient, root: Caller, path: str, queries: st.SearchStrategy[dict[str, str]]) -> None:
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(query=queries)
    def run(query: dict[str, str]) -> None:
        response = client.get(_url(path, query), headers=root.headers)
        assert response.status_code < 500, (path, query, response.text)
        if response.status_code >= 400:
            assert isinstance(response.json().get("code"), str), (path, query, response.text)

    run()


def test_every_read_operation_is_found(app: FastAPI) -> None:
    paths = {path for path, _ in read_operations(app)}
    # The lists the issue names are in the fuzzed set (so a renamed route cannot silently drop out).
    assert {"/inventory", "/transactions", "/ledger/events", "/users", "/customer-orders"} <= paths


def test_any_cursor_on_any_list_is_a_4xx(app: FastAPI, client: TestClient, root: Caller) -> None:
    # The cursor alone, so that no other parameter's refusal hides what the cursor does.
    for path, names in read_operations(app):
        if "cursor" in names:
            _fuzz(client, root, path, st.fixed_dictionaries({"cursor": CURSORS}))


def test_any_filter_on_any_read_is_a_4xx(app: FastAPI, client: TestClient, root: Caller) -> None:
    # One parameter at a time for the same reason; its value is anything at all.
    for path, names in read_operations(app):
        one = st.sampled_from(names).flatmap(lambda n: st.fixed_dictionaries({n: _values(n)}))
        _fuzz(client, root, path, one)
