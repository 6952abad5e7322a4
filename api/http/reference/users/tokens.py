"""Invitations accepted and password resets: one-use tokens, random, stored only hashed, expiring.

Every use, and every attempt with an expired invitation, is written to the audit logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.auth.security import hash_password, new_token, token_digest
from api.http.problems import ApiError, conflict
from api.http.reference.common import rows
from api.http.reference.users.service import (
    AUDIT,
    COLUMNS,
    INVITATION_AUDIT,
    Password,
    UserOut,
    find,
    may_manage,
)
from ledger.postgres.connection import Connection

RESET_LIFETIME = timedelta(hours=1)


class TokenPassword(BaseModel):
    """An invitation or reset token, and the password to set."""

    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=10, max_length=200)]
    password: Password
    name: Annotated[str, Field(max_length=255)] | None = None


class ResetRequest(BaseModel):
    """Who forgot their password."""

    model_config = ConfigDict(extra="forbid")
    username_or_email: Annotated[str, Field(min_length=1, max_length=255)]


def accept_invitation(conn: Connection, body: TokenPassword) -> UserOut:
    """Set the password of an invited user; the invitation is used up."""
    with conn.transaction():
        row = conn.execute(
            "SELECT id, invitation_expires_at > now() FROM users WHERE invitation_token = %s"
            " AND user_status = 'pending_invitation' FOR UPDATE",
            [token_digest(body.token)],
        ).fetchone()
        if row is None:
            raise ApiError(422, "invalid_token", "this invitation is unknown or already used")
        expired = not row[1]
        if not expired:
            conn.execute(
                "UPDATE users SET password_hash = %s, user_status = 'active', invitation_token = NULL,"
                " invitation_expires_at = NULL, name = coalesce(%s, name), updated_at = now() WHERE id = %s",
                [hash_password(body.password), body.name, row[0]],
            )
            conn.execute(INVITATION_AUDIT, [row[0], "accepted", row[0], None])
            return rows(conn, UserOut, f"SELECT {COLUMNS} FROM users WHERE id = %s", [row[0]])[0]
    # Outside the refused transaction, so the attempt stays on record.
    conn.execute(INVITATION_AUDIT, [row[0], "expired_attempt", None, None])
    raise ApiError(422, "invitation_expired", "this invitation has expired; ask for a new one")


def request_reset(conn: Connection, who: str) -> str | None:
    """A reset token for the account; None when there is no such active account (the caller says nothing)."""
    token = new_token()
    with conn.transaction():
        row = conn.execute(
            "UPDATE users SET password_reset_token = %s, password_reset_expires_at = now() + %s,"
            " updated_at = now() WHERE (username = %s OR lower(email) = lower(%s)) AND is_active"
            " AND user_status IN ('active', 'locked') RETURNING id",
            [token_digest(token), RESET_LIFETIME, who, who],
        ).fetchone()
        if row is None:
            return None
        conn.execute(AUDIT, [row[0], "password_reset_requested", row[0], None])
    return token


def confirm_reset(conn: Connection, body: TokenPassword) -> None:
    """Set a new password with a reset token; the token is used up and the account unlocked."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE users SET password_hash = %s, password_reset_token = NULL,"
            " password_reset_expires_at = NULL,"
            " failed_login_attempts = 0, locked_until = NULL, user_status = 'active', updated_at = now()"
            " WHERE password_reset_token = %s AND password_reset_expires_at > now() RETURNING id",
            [hash_password(body.password), token_digest(body.token)],
        ).fetchone()
        if row is None:
            raise ApiError(422, "invalid_token", "this reset token is unknown, used or expired")
        conn.execute("UPDATE user_sessions SET is_active = false WHERE user_id = %s", [row[0]])
        conn.execute(AUDIT, [row[0], "password_reset", row[0], None])


def issue_reset_for(conn: Connection, caller: Principal, user_id: UUID) -> tuple[str, datetime]:
    """An admin issues a reset token for a user in its reach (handed over out of band: there is no mail)."""
    user = find(conn, caller, user_id)
    may_manage(caller, user.organization_id, user.role)
    token = request_reset(conn, user.username)
    if token is None:
        raise conflict("account_inactive", "the account is not active")
    return token, datetime.now().astimezone() + RESET_LIFETIME
