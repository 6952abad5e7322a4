"""Organizations and users over HTTP: the spec's rules, roles, invitations, resets, audit logs."""

from __future__ import annotations

import threading
import uuid

import pytest
from fastapi.testclient import TestClient

from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import PASSWORD, Caller, Tenants
from tests.fixtures.shop import Shop, post

pytestmark = pytest.mark.db


def audit(db: Conn, user_id: str) -> list[str]:
    rows = db.execute(
        "SELECT action FROM user_management_audit_logs WHERE user_id = %s ORDER BY timestamp", [user_id]
    ).fetchall()
    return [r[0] for r in rows]


def test_organization_rules(client: TestClient, tenants: Tenants, root: Caller, db: Conn) -> None:
    name = f"Acme-{uuid.uuid4().hex[:6]}"
    created = post(client, root, "/organizations", {"name": name, "organization_type": "customer"})
    assert created.status_code == 201, created.text
    dup = post(client, root, "/organizations", {"name": name, "organization_type": "customer"})
    assert (dup.status_code, dup.json()["code"]) == (409, "name_taken")
    second = post(client, root, "/organizations", {"name": name + "2", "organization_type": "oraseas_ee"})
    assert (second.status_code, second.json()["code"]) == (409, "limit_reached")
    orphan = post(client, root, "/organizations", {"name": name + "3", "organization_type": "supplier"})
    assert (orphan.status_code, orphan.json()["code"]) == (422, "parent_required")
    shop = Shop(tenants, db)
    supplier = post(
        client, shop.admin, "/organizations", {"name": name + "s", "organization_type": "supplier"}
    )
    assert supplier.status_code == 201 and supplier.json()["parent_organization_id"] == str(shop.org)
    assert (
        post(
            client, shop.admin, "/organizations", {"name": name + "c", "organization_type": "customer"}
        ).status_code
        == 403
    )
    tree = client.get("/organizations/hierarchy", headers=shop.user.headers).json()
    assert [o["id"] for o in tree] == [str(shop.org)]  # a user sees its own organization only
    protected = client.delete(f"/organizations/{tenants.oraseas_id}", headers=root.headers)
    assert (protected.status_code, protected.json()["code"]) == (409, "protected_organization")
    gone = client.delete(f"/organizations/{created.json()['id']}", headers=root.headers)
    assert gone.json()["is_active"] is False


def test_users_with_passwords_and_invitations(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    name = f"ann-{uuid.uuid4().hex[:6]}"
    made = post(
        client, shop.admin, "/users", {"username": name, "email": f"{name}@x.io", "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    assert made.json()["user_status"] == "active" and made.json()["invitation_token"] is None
    assert "password_hash" not in made.json()
    taken = post(client, shop.admin, "/users", {"username": name, "email": f"other-{name}@x.io"})
    assert (taken.status_code, taken.json()["code"]) == (409, "username_taken")
    boss = post(
        client,
        shop.admin,
        "/users",
        {"username": name + "b", "email": f"b-{name}@x.io", "role": "super_admin"},
    )
    assert boss.status_code == 403
    assert post(client, shop.user, "/users", {"username": "u", "email": "u@x.io"}).status_code == 403
    invited = post(client, shop.admin, "/users", {"username": name + "i", "email": f"i-{name}@x.io"})
    token = invited.json()["invitation_token"]
    assert invited.json()["user_status"] == "pending_invitation" and token
    accepted = client.post("/users/accept-invitation", json={"token": token, "password": "brand new pass"})
    assert accepted.status_code == 200 and accepted.json()["user_status"] == "active"
    again = client.post("/users/accept-invitation", json={"token": token, "password": "brand new pass"})
    assert (again.status_code, again.json()["code"]) == (422, "invalid_token")
    signed = client.post("/token", data={"username": name + "i", "password": "brand new pass"})
    assert signed.status_code == 200
    events = db.execute(
        "SELECT action FROM invitation_audit_logs WHERE user_id = %s ORDER BY timestamp",
        [invited.json()["id"]],
    ).fetchall()
    assert [e[0] for e in events] == ["invited", "accepted"]


def test_password_reset_and_unlock(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    assert (
        client.post("/users/password-reset", json={"username_or_email": "nobody-at-all"}).status_code == 202
    )
    for _ in range(5):
        client.post("/token", data={"username": shop.user.username, "password": "wrong"})
    unlocked = client.post(f"/users/{shop.user.user_id}/unlock", headers=shop.admin.headers)
    assert unlocked.status_code == 200 and unlocked.json()["user_status"] == "active"
    issued = client.post(f"/users/{shop.user.user_id}/password-reset", headers=shop.admin.headers)
    assert issued.status_code == 201
    done = client.post(
        "/users/password-reset/confirm",
        json={"token": issued.json()["password_reset_token"], "password": "another secret"},
    )
    assert done.status_code == 204
    assert client.get("/users/me", headers=shop.user.headers).status_code == 401  # old sessions ended
    assert (
        client.post("/token", data={"username": shop.user.username, "password": "another secret"}).status_code
        == 200
    )
    assert audit(db, str(shop.user.user_id)) == ["unlocked", "password_reset_requested", "password_reset"]


def test_the_last_admin_stays(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    alone = client.post(f"/users/{shop.admin.user_id}/deactivate", headers=shop.admin.headers)
    assert (alone.status_code, alone.json()["code"]) == (409, "last_admin")
    second = tenants.user(shop.org, "admin")
    results: list[int] = []

    def demote(actor: Caller, target: Caller) -> None:
        response = client.patch(f"/users/{target.user_id}", json={"role": "user"}, headers=actor.headers)
        results.append(response.status_code)

    threads = [
        threading.Thread(target=demote, args=(shop.admin, second)),
        threading.Thread(target=demote, args=(second, shop.admin)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) in ([200, 409], [200, 403])  # one demotion wins; the other is refused
    admins = db.execute(
        "SELECT count(*) FROM users WHERE organization_id = %s AND role = 'admin' AND is_active", [shop.org]
    ).fetchone()
    assert admins == (1,)


def test_users_of_another_organization_are_invisible(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop, other = Shop(tenants, db), Shop(tenants, db)
    assert client.get(f"/users/{shop.user.user_id}", headers=other.admin.headers).status_code == 404
    assert (
        client.post(f"/users/{shop.user.user_id}/deactivate", headers=other.admin.headers).status_code == 404
    )
    listed = client.get("/users", params={"limit": 500}, headers=other.admin.headers).json()["items"]
    assert {u["organization_id"] for u in listed} == {str(other.org)}


def test_an_expired_invitation_is_refused_and_the_attempt_recorded(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    shop = Shop(tenants, db)
    name = f"late-{uuid.uuid4().hex[:6]}"
    invited = post(client, shop.admin, "/users", {"username": name, "email": f"{name}@x.io"}).json()
    db.execute(
        "UPDATE users SET invitation_expires_at = now() - interval '1 second' WHERE id = %s", [invited["id"]]
    )
    late = client.post(
        "/users/accept-invitation", json={"token": invited["invitation_token"], "password": "too late now"}
    )
    assert (late.status_code, late.json()["code"]) == (422, "invitation_expired")
    events = db.execute(
        "SELECT action FROM invitation_audit_logs WHERE user_id = %s ORDER BY timestamp", [invited["id"]]
    ).fetchall()
    assert [e[0] for e in events] == ["invited", "expired_attempt"]


def test_a_value_the_database_refuses_is_a_422(client: TestClient, tenants: Tenants, db: Conn) -> None:
    shop = Shop(tenants, db)
    response = post(client, shop.admin, "/users", {"username": "nul\u0000byte", "email": "nul@x.io"})
    # Refused before the database sees it: NUL in any JSON body is invalid_text
    # (api/http/middleware/bodies.py).
    assert (response.status_code, response.json()["code"]) == (422, "invalid_text")
    stale = client.get("/inventory", params={"min_position": 10**15}, headers=shop.user.headers)
    assert (stale.status_code, stale.json()["code"]) == (422, "unknown_position")


def test_an_admin_may_not_unmake_a_super_admin(client: TestClient, tenants: Tenants, db: Conn) -> None:
    # An Oraseas EE admin sees the super_admins' organization; demoting one would let her reset the
    # password of what was a super_admin account and take it over.
    admin = tenants.user(tenants.oraseas_id, "admin")
    boss = tenants.user(tenants.oraseas_id, "super_admin")
    demoted = client.patch(f"/users/{boss.user_id}", json={"role": "admin"}, headers=admin.headers)
    assert (demoted.status_code, demoted.json()["code"]) == (403, "forbidden")
    renamed = client.patch(f"/users/{boss.user_id}", json={"name": "x"}, headers=admin.headers)
    assert renamed.status_code == 403, renamed.text
    role = db.execute("SELECT role::text FROM users WHERE id = %s", [boss.user_id]).fetchone()
    assert role == ("super_admin",)
    reset = client.post(f"/users/{boss.user_id}/password-reset", headers=admin.headers)
    assert reset.status_code == 403, reset.text
