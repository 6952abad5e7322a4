"""The principal cache: callers reused for at most a second, and forgotten at once when they change.

Each test first makes a request with the token, so that its principal is cached, then changes
who the token belongs to, and asks again at once (well within the cache's second).
"""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from api.http.auth.cache import PrincipalCache, may_change_callers
from api.http.auth.principal import Principal, Role
from api.http.auth.security import token_digest
from ledger.postgres.connection import Connection as Conn
from tests.fixtures.api import Caller, Tenants


def _cached(client: TestClient, caller: Caller) -> None:
    assert client.get("/users/me", headers=caller.headers).status_code == 200
    assert client.get("/users/me", headers=caller.headers).status_code == 200


@pytest.mark.db
def test_a_signed_out_token_is_refused_at_once(client: TestClient, tenants: Tenants) -> None:
    caller = tenants.user(tenants.organization())
    _cached(client, caller)
    assert client.post("/logout", headers=caller.headers).status_code == 204
    refused = client.get("/inventory", headers=caller.headers)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


@pytest.mark.db
def test_a_deactivated_user_is_refused_at_once(client: TestClient, tenants: Tenants) -> None:
    org = tenants.organization()
    admin, caller = tenants.user(org, "admin"), tenants.user(org)
    _cached(client, caller)
    done = client.post(f"/users/{caller.user_id}/deactivate", headers=admin.headers)
    assert done.status_code == 200, done.text
    refused = client.get("/users/me", headers=caller.headers)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


@pytest.mark.db
def test_a_deactivated_organization_is_refused_at_once(
    client: TestClient, tenants: Tenants, root: Caller
) -> None:
    org = tenants.organization()
    caller = tenants.user(org)
    _cached(client, caller)
    assert client.delete(f"/organizations/{org}", headers=root.headers).status_code == 200
    assert client.get("/users/me", headers=caller.headers).status_code == 401


@pytest.mark.db
def test_a_caller_is_reused_for_at_most_a_second(client: TestClient, tenants: Tenants, db: Conn) -> None:
    # Behind the API's back (no request to drop the cache), the session ends: the cached caller is
    # still served within the second (this is what saves the round trip), and refused after it.
    caller = tenants.user(tenants.organization())
    _cached(client, caller)
    db.execute("UPDATE user_sessions SET expires_at = now() WHERE user_id = %s", [caller.user_id])
    assert client.get("/users/me", headers=caller.headers).status_code == 200
    time.sleep(1.05)
    assert client.get("/users/me", headers=caller.headers).status_code == 401


def _principal() -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), "customer", Role.USER, uuid.uuid4(), frozenset())


def test_a_lookup_begun_before_a_clear_is_not_kept() -> None:
    cache = PrincipalCache(1.0)
    began = cache.generation
    cache.clear()  # e.g. a sign-out answered while the lookup was reading the old session
    cache.put("digest", _principal(), time.monotonic(), began)
    assert cache.get("digest") is None
    cache.put("digest", found := _principal(), time.monotonic(), cache.generation)
    assert cache.get("digest") == found


def test_entries_expire_and_zero_turns_the_cache_off() -> None:
    cache = PrincipalCache(1.0)
    cache.put("old", _principal(), time.monotonic() - 1.0, cache.generation)
    assert cache.get("old") is None
    off = PrincipalCache(0.0)
    off.put("digest", _principal(), time.monotonic(), off.generation)
    assert off.get("digest") is None


def test_which_requests_drop_the_cache() -> None:
    for method, path in (
        ("POST", "/logout"),
        ("POST", "/token"),
        ("PATCH", "/users/x"),
        ("DELETE", "/organizations/x"),
    ):
        assert may_change_callers(method, path), (method, path)
    for method, path in (
        ("POST", "/transactions"),
        ("POST", "/stocktakes"),
        ("GET", "/users"),
        ("POST", "/parts"),
    ):
        assert not may_change_callers(method, path), (method, path)


def test_an_entry_past_half_its_ttl_is_due_for_one_refresh_at_a_time() -> None:
    cache = PrincipalCache(1.0)
    cache.put("fresh", _principal(), time.monotonic(), cache.generation)
    assert not cache.refresh_due("fresh") and not cache.refresh_due("unknown")
    cache.put("old", old := _principal(), time.monotonic() - 0.6, cache.generation)
    assert cache.refresh_due("old")
    assert not cache.refresh_due("old")  # one refresh at a time
    cache.refresh_failed("old")  # kept as it was, and due again
    assert cache.get("old") == old and cache.refresh_due("old")
    cache.refreshed("old", new := _principal(), time.monotonic(), cache.generation)
    assert cache.get("old") == new and not cache.refresh_due("old")
    cache.put("gone", _principal(), time.monotonic() - 0.6, cache.generation)
    assert cache.refresh_due("gone")
    cache.refreshed("gone", None, time.monotonic(), cache.generation)  # the token is no longer valid
    assert cache.get("gone") is None


def _refreshes_done(cache: PrincipalCache) -> None:
    deadline = time.monotonic() + 10
    while cache.tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cache.tasks


@pytest.mark.db
def test_a_caller_in_use_is_read_again_before_the_entry_expires(
    client: TestClient, tenants: Tenants, db: Conn
) -> None:
    cache: PrincipalCache = client.app.state.principals  # type: ignore[attr-defined]
    caller, other = tenants.user(tenants.organization()), tenants.user(tenants.organization())
    for who in (caller, other):
        _cached(client, who)
        digest = token_digest(who.headers["Authorization"].removeprefix("Bearer "))
        principal = cache.get(digest)
        assert principal is not None
        cache.put(digest, principal, time.monotonic() - 0.6 * cache.ttl, cache.generation)
    db.execute("UPDATE user_sessions SET expires_at = now() WHERE user_id = %s", [other.user_id])
    for who in (caller, other):  # served from the cache; each starts its refresh
        assert client.get("/users/me", headers=who.headers).status_code == 200
    _refreshes_done(cache)
    digest = token_digest(caller.headers["Authorization"].removeprefix("Bearer "))
    assert not cache.refresh_due(digest)  # read again just now
    refused = client.get("/users/me", headers=other.headers)  # its refresh found the session ended
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")
