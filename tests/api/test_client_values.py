"""A value psycopg cannot send or PostgreSQL refuses is a 422 `invalid_value`; a server bug stays a 500.

The routes guard their inputs, but the mapping is the last line: a throwaway
route here hands a client's text straight to a real PostgreSQL, so the test
exercises `api.http.problems` at the depth where the error is raised.
"""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from api.http import problems

pytestmark = pytest.mark.db


def echo_app(database_url: str) -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/echo")
    def echo(payload: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        # `dict[str, Any]` keeps whatever JSON decoded to, lone surrogates included.
        with psycopg.connect(database_url) as conn:
            # `cast` picks a type the value must become: the server refuses one it cannot.
            query = "SELECT %s::timestamptz::text" if payload.get("cast") == "moment" else "SELECT %s::text"
            row = conn.execute(query, [payload["text"]]).fetchone()
        return {"text": row[0] if row else None}

    @app.post("/bug")
    def bug() -> None:
        "é".encode("ascii")  # the server's own mistake, not the client's value

    return app


@pytest.fixture
def echo(api_db_url: str) -> TestClient:
    return TestClient(echo_app(api_db_url), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "\\ud800"}',  # psycopg cannot encode it: UnicodeEncodeError before the server sees it
        b'{"text": "a\\u0000b"}',  # psycopg refuses NUL client-side (a DataError with no diagnostic)
        b'{"text": "2024-13-45", "cast": "moment"}',  # PostgreSQL refuses it (SQLSTATE 22008)
    ],
)
def test_a_client_value_the_database_cannot_take_is_invalid_value(echo: TestClient, raw: bytes) -> None:
    response = echo.post("/echo", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_value"
    assert response.headers["content-type"] == problems.MEDIA_TYPE


def test_a_plain_value_still_goes_through(echo: TestClient) -> None:
    response = echo.post("/echo", json={"text": "résumé"})
    assert (response.status_code, response.json()) == (200, {"text": "résumé"})


def test_an_encoding_error_of_the_servers_own_is_still_a_500(echo: TestClient) -> None:
    response = echo.post("/bug")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
