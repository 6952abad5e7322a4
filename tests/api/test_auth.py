"""Sign-in, tokens, lockout, sign-out, and the security events they leave."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import PASSWORD, Caller, Tenants

pytestmark = pytest.mark.db


def events(db: Conn, caller: Caller) -> list[str]:
    rows = db.execute(
        "SELECT event_type FROM security_events WHERE user_id = %s ORDER BY timestamp, id", [caller.user_id]
    ).fetchall()
    return [r[0] for r in rows]


def test_sign_in_returns_a_bearer_token_stored_only_hashed(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    org = tenants.organization()
    response = client.post("/token", data={"username": "nobody-" + str(org), "password": "x"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_credentials"

    caller = tenants.user(org, "admin")
    token = caller.headers["Authorization"].removeprefix("Bearer ")
    stored = db.execute(
        "SELECT session_token FROM user_sessions WHERE user_id = %s", [caller.user_id]
    ).fetchone()
    assert stored is not None and token not in stored[0] and len(stored[0]) == 64
    me = client.get("/users/me", headers=caller.headers)
    assert me.status_code == 200
    assert me.json()["id"] == str(caller.user_id) and me.json()["role"] == "admin"
    assert "password_hash" not in me.json()
    assert events(db, caller) == ["login_success"]


def test_requests_without_a_valid_token_are_401(client: TestClient) -> None:
    missing = client.get("/users/me")
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing.headers["www-authenticate"] == "Bearer"
    forged = client.get("/users/me", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"


def test_five_failures_lock_the_account(client: TestClient, tenants: Tenants, db: Conn) -> None:
    caller = tenants.user(tenants.organization())
    for _ in range(5):
        assert (
            client.post("/token", data={"username": caller.username, "password": "wrong"}).status_code == 401
        )
    locked = client.post("/token", data={"username": caller.username, "password": PASSWORD})
    assert locked.status_code == 401 and locked.json()["code"] == "account_locked"
    status = db.execute(
        "SELECT user_status::text, locked_until > now() + interval '14 minutes' FROM users WHERE id = %s",
        [caller.user_id],
    ).fetchone()
    assert status == ("locked", True)
    assert events(db, caller)[-3:] == ["login_failure", "account_locked", "login_blocked"]

    db.execute("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = %s", [caller.user_id])
    again = client.post("/token", data={"username": caller.username, "password": PASSWORD})
    assert again.status_code == 200


def test_logout_revokes_the_token(client: TestClient, tenants: Tenants, db: Conn) -> None:
    caller = tenants.user(tenants.organization())
    out = client.post("/logout", headers=caller.headers)
    assert out.status_code == 204 and "content-type" not in out.headers and out.content == b""
    assert client.get("/users/me", headers=caller.headers).status_code == 401
    assert events(db, caller) == ["login_success", "logout"]
    row = db.execute(
        "SELECT ip_address, user_agent FROM security_events WHERE user_id = %s LIMIT 1", [caller.user_id]
    ).fetchone()
    assert row == ("testclient", "testclient")


def test_an_expired_token_is_refused(client: TestClient, tenants: Tenants, db: Conn) -> None:
    caller = tenants.user(tenants.organization())
    db.execute("UPDATE user_sessions SET expires_at = now() WHERE user_id = %s", [caller.user_id])
    assert client.get("/users/me", headers=caller.headers).json()["code"] == "invalid_token"


def test_a_deactivated_organization_signs_nobody_in(
    client: TestClient, tenants: Tenants, root: Caller, db: Conn
) -> None:
    org = tenants.organization()
    caller = tenants.user(org)
    assert client.get("/users/me", headers=caller.headers).status_code == 200
    assert client.delete(f"/organizations/{org}", headers=root.headers).json()["is_active"] is False
    assert client.get("/users/me", headers=caller.headers).json()["code"] == "invalid_token"
    refused = client.post("/token", data={"username": caller.username, "password": PASSWORD})
    assert (refused.status_code, refused.json()["code"]) == (401, "account_inactive")
    assert events(db, caller)[-1] == "login_failure"


def test_emails_are_one_whatever_their_case(client: TestClient, tenants: Tenants, root: Caller) -> None:
    org = tenants.organization()
    admin = tenants.user(org, "admin")
    by_email = client.post("/token", data={"username": f"{admin.username}@EXAMPLE.com", "password": PASSWORD})
    assert by_email.status_code == 200, by_email.text
    twin = client.post(
        "/users",
        headers=admin.headers,
        json={
            "username": f"x{admin.username}",
            "email": f"{admin.username.upper()}@example.com",
            "password": PASSWORD,
        },
    )
    assert (twin.status_code, twin.json()["code"]) == (409, "email_taken")
