"""Sign-in, sign-out and lockout, each written to security_events with the client's address and agent.

Five failed sign-ins in a row lock the account for 15 minutes. Tokens are
random, handed to the client once, and stored only as their SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from api.http.auth.security import UNUSABLE_HASH, new_token, token_digest, verify_password
from api.http.problems import ApiError
from ledger.postgres.connection import Connection

CHALLENGE = {"WWW-Authenticate": "Bearer"}
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

# By username, else by email whatever its case; a username match wins over another account's email.
ACCOUNT = """
SELECT u.id, u.password_hash, u.user_status::text, u.is_active, o.is_active, u.locked_until, now()
FROM users u JOIN organizations o ON o.id = u.organization_id
WHERE u.username = %(who)s OR lower(u.email) = lower(%(who)s)
ORDER BY u.username = %(who)s DESC
LIMIT 1
FOR UPDATE OF u
"""
FAILED = """
UPDATE users SET failed_login_attempts = failed_login_attempts + 1,
    user_status = CASE WHEN failed_login_attempts + 1 >= %(max)s THEN 'locked' ELSE user_status END,
    locked_until = CASE WHEN failed_login_attempts + 1 >= %(max)s
        THEN now() + %(lockout)s ELSE locked_until END,
    updated_at = now()
WHERE id = %(id)s
RETURNING user_status::text
"""
SUCCEEDED = """
UPDATE users SET failed_login_attempts = 0, locked_until = NULL, last_login = now(), user_status = 'active',
    updated_at = now()
WHERE id = %s
"""
OPEN_SESSION = """
INSERT INTO user_sessions (user_id, session_token, ip_address, user_agent, expires_at)
VALUES (%s, %s, %s, %s, now() + %s) RETURNING id, expires_at
"""
CLOSE_SESSION = "UPDATE user_sessions SET is_active = false WHERE id = %s"
SECURITY_EVENT = """
INSERT INTO security_events (user_id, event_type, ip_address, user_agent, session_id, details, risk_level,
    timestamp)
VALUES (%s, %s, %s, %s, %s, %s, %s, clock_timestamp())
"""


@dataclass(frozen=True)
class Client:
    """Where a request came from, as security_events records it."""

    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Session:
    """A new sign-in: the token (shown once) and when it expires."""

    access_token: str
    expires_at: datetime


def record_event(
    conn: Connection,
    user_id: UUID | None,
    event_type: str,
    client: Client,
    details: str | None = None,
    risk: str = "low",
    session_id: UUID | None = None,
) -> None:
    """Write one row of security_events."""
    conn.execute(
        SECURITY_EVENT,
        [
            user_id,
            event_type,
            client.ip_address,
            (client.user_agent or "")[:1000],
            session_id and str(session_id),
            details,
            risk,
        ],
    )


def sign_in(conn: Connection, username: str, password: str, client: Client, lifetime: timedelta) -> Session:
    """Check the credentials and open a session; raise a 401 ApiError (and record why) otherwise."""
    refused = ApiError(
        401, "invalid_credentials", "wrong username or password", {"WWW-Authenticate": "Bearer"}
    )
    with conn.transaction():
        row = conn.execute(ACCOUNT, {"who": username}).fetchone()
        if row is None:
            verify_password(UNUSABLE_HASH, password)  # same work as for a real account
            record_event(
                conn, None, "login_failure", client, f"unknown username {username[:100]!r}", "medium"
            )
            failure: ApiError | None = refused
        else:
            failure = _check(conn, row, password, client, refused)
    if failure is not None:
        raise failure
    assert row is not None
    token = new_token()
    with conn.transaction():
        conn.execute(SUCCEEDED, [row[0]])
        opened = conn.execute(
            OPEN_SESSION, [row[0], token_digest(token), client.ip_address, client.user_agent, lifetime]
        ).fetchone()
        assert opened is not None
        record_event(conn, row[0], "login_success", client, session_id=opened[0])
    return Session(token, opened[1])


def _check(
    conn: Connection, row: tuple[object, ...], password: str, client: Client, refused: ApiError
) -> ApiError | None:
    user_id, password_hash, status, is_active, organization_active, locked_until, now = row
    assert isinstance(user_id, UUID) and isinstance(password_hash, str) and isinstance(now, datetime)
    if status == "locked" and isinstance(locked_until, datetime) and locked_until > now:
        record_event(conn, user_id, "login_blocked", client, "account locked", "high")
        return ApiError(
            401,
            "account_locked",
            f"too many failed sign-ins; try again after {locked_until.isoformat()}",
            {"WWW-Authenticate": "Bearer"},
            locked_until=locked_until,
        )
    if not verify_password(password_hash, password):
        new_status = conn.execute(FAILED, {"id": user_id, "max": MAX_FAILURES, "lockout": LOCKOUT}).fetchone()
        record_event(conn, user_id, "login_failure", client, "wrong password", "medium")
        if new_status == ("locked",):
            record_event(conn, user_id, "account_locked", client, f"{MAX_FAILURES} failed sign-ins", "high")
        return refused
    if not is_active or status not in ("active", "locked"):
        record_event(conn, user_id, "login_failure", client, f"account {status}", "medium")
        return ApiError(401, "account_inactive", f"the account is {status}", {"WWW-Authenticate": "Bearer"})
    if not organization_active:
        record_event(conn, user_id, "login_failure", client, "organization deactivated", "medium")
        return ApiError(
            401,
            "account_inactive",
            "the account's organization is deactivated",
            {"WWW-Authenticate": "Bearer"},
        )
    return None


def sign_out(conn: Connection, user_id: UUID, session_id: UUID, client: Client) -> None:
    """Revoke the session the request was made with."""
    with conn.transaction():
        conn.execute(CLOSE_SESSION, [session_id])
        record_event(conn, user_id, "logout", client, session_id=session_id)
