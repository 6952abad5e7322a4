"""Users: caps, unique usernames and emails, roles, invitations issued, and the last admin.

Rules: super_admins belong to Oraseas EE and only a super_admin makes one;
an admin manages the users of the organizations in its reach; every
organization keeps at least one active admin (checked under a lock on that
organization's admins, so two concurrent demotions cannot both pass).
Invitation tokens are random, stored only hashed, and expire; accepting them,
and password resets, are in tokens.py.
Every action is written to user_management_audit_logs or invitation_audit_logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth.principal import Principal
from api.http.auth.security import UNUSABLE_HASH, hash_password, new_token, token_digest
from api.http.problems import ApiError, conflict, forbidden, not_found
from api.http.reference.common import insert_capped, refusals, rows
from ledger.postgres.connection import Connection

INVITATION_LIFETIME = timedelta(days=7)
COLUMNS = """id, organization_id, username, email, name, role::text, user_status::text, is_active,
    failed_login_attempts, locked_until, last_login, invited_by_user_id, created_at, updated_at"""
UNIQUE = {
    "users_username_key": ("username_taken", "that username is taken"),
    "users_email_key": ("email_taken", "that email is already used"),
    "users_email_lower_key": ("email_taken", "that email is already used"),
}
Role = Literal["user", "admin", "super_admin"]
Password = Annotated[str, Field(min_length=8, max_length=200)]
Email = Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")]


class UserIn(BaseModel):
    """A new user: with a password it is active; without, an invitation is issued."""

    model_config = ConfigDict(extra="forbid")
    organization_id: UUID | None = None
    username: Annotated[str, Field(min_length=1, max_length=255)]
    email: Email
    name: Annotated[str, Field(max_length=255)] | None = None
    role: Role = "user"
    password: Password | None = None


class UserChange(BaseModel):
    """Fields to change."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=255)] | None = None
    email: Email | None = None
    role: Role | None = None


class UserOut(BaseModel):
    """A users row, without secrets."""

    id: UUID
    organization_id: UUID
    username: str
    email: str
    name: str | None
    role: str
    user_status: str
    is_active: bool
    failed_login_attempts: int
    locked_until: datetime | None
    last_login: datetime | None
    invited_by_user_id: UUID | None
    created_at: datetime
    updated_at: datetime


class Created(UserOut):
    """A new user; `invitation_token` is shown once, to the inviter."""

    invitation_token: str | None = None
    invitation_expires_at: datetime | None = None


LIST = f"""
SELECT {COLUMNS} FROM users
WHERE (%(scope)s::uuid[] IS NULL OR organization_id = ANY(%(scope)s))
  AND (%(organization_id)s::uuid IS NULL OR organization_id = %(organization_id)s)
  AND (%(role)s::text IS NULL OR role::text = %(role)s)
  AND (%(user_status)s::text IS NULL OR user_status::text = %(user_status)s)
  AND (%(after_name)s::text IS NULL OR (username, id) > (%(after_name)s, %(after_id)s::uuid))
ORDER BY username, id
LIMIT %(limit)s
"""
ADMINS = """
SELECT id FROM users WHERE organization_id = %s AND role IN ('admin', 'super_admin') AND is_active
  AND user_status = 'active' FOR UPDATE
"""
AUDIT = """
INSERT INTO user_management_audit_logs (user_id, action, performed_by_user_id, details, timestamp)
VALUES (%s, %s, %s, %s, clock_timestamp())
"""
INVITATION_AUDIT = """
INSERT INTO invitation_audit_logs (user_id, action, performed_by_user_id, details, timestamp)
VALUES (%s, %s, %s, %s, clock_timestamp())
"""


def find(conn: Connection, caller: Principal, user_id: UUID) -> UserOut:
    """The user, if the caller may see them (404 otherwise)."""
    found = rows(conn, UserOut, f"SELECT {COLUMNS} FROM users WHERE id = %s", [user_id])
    if not found or not caller.sees(found[0].organization_id):
        raise not_found("user")
    return found[0]


def listing(conn: Connection, caller: Principal, filters: dict[str, Any]) -> list[UserOut]:
    """Users in the caller's reach, by username."""
    return rows(conn, UserOut, LIST, {"scope": caller.scope_list()} | filters)


def may_manage(caller: Principal, organization_id: UUID, role: str) -> None:
    if not caller.is_admin:
        raise forbidden("only an admin manages users")
    if role == "super_admin" and not caller.is_super_admin:
        raise forbidden("only a super_admin makes super_admins")


def _org_type(conn: Connection, organization_id: UUID) -> str:
    row = conn.execute(
        "SELECT organization_type::text FROM organizations WHERE id = %s", [organization_id]
    ).fetchone()
    return str(row[0]) if row else ""


def create(conn: Connection, caller: Principal, body: UserIn, max_users: int) -> Created:
    """Create an active user (with a password) or invite one (without)."""
    organization = body.organization_id or caller.organization_id
    if not caller.sees(organization):
        raise ApiError(422, "unknown_organization", f"organization {organization} does not exist")
    may_manage(caller, organization, body.role)
    if body.role == "super_admin" and _org_type(conn, organization) != "oraseas_ee":
        raise conflict("super_admin_outside_oraseas", "super_admins belong to Oraseas EE")
    token = None if body.password else new_token()
    expires = datetime.now().astimezone() + INVITATION_LIFETIME if token else None
    status = "active" if body.password else "pending_invitation"
    values = body.model_dump(include={"username", "email", "name", "role"}) | {
        "organization_id": organization,
        "password_hash": hash_password(body.password) if body.password else UNUSABLE_HASH,
        "user_status": status,
        "invitation_token": token and token_digest(token),
        "invitation_expires_at": expires,
        "invited_by_user_id": None if body.password else caller.user_id,
    }
    with conn.transaction(), refusals(UNIQUE):
        user = insert_capped(conn, UserOut, "users", max_users, values, COLUMNS)
        conn.execute(AUDIT, [user.id, "created", caller.user_id, f"role {body.role}, {status}"])
        if token:
            conn.execute(INVITATION_AUDIT, [user.id, "invited", caller.user_id, f"expires {expires}"])
    return Created(**user.model_dump(), invitation_token=token, invitation_expires_at=expires)


def _keep_an_admin(conn: Connection, user: UserOut) -> None:
    admins = [r[0] for r in conn.execute(ADMINS, [user.organization_id]).fetchall()]
    if user.id in admins and len(admins) == 1:
        raise conflict("last_admin", "every organization keeps at least one active admin")


def change(conn: Connection, caller: Principal, user_id: UUID, body: UserChange) -> UserOut:
    """Change name, email (the user or an admin) or role (an admin)."""
    user = find(conn, caller, user_id)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if user.id != caller.user_id or "role" in changes:
        # Both the role the user has and the one asked for: an admin may neither make a super_admin
        # nor unmake one (and then take over the account with a password reset).
        may_manage(caller, user.organization_id, user.role)
        may_manage(caller, user.organization_id, changes.get("role", user.role))
    if changes.get("role") == "super_admin" and _org_type(conn, user.organization_id) != "oraseas_ee":
        raise conflict("super_admin_outside_oraseas", "super_admins belong to Oraseas EE")
    if not changes:
        return user
    with conn.transaction(), refusals(UNIQUE):
        if changes.get("role", user.role) == "user" and user.role != "user":
            _keep_an_admin(conn, user)
        sets = ", ".join(f"{k} = %({k})s" for k in changes)
        updated = rows(
            conn,
            UserOut,
            f"UPDATE users SET {sets}, updated_at = now() WHERE id = %(id)s RETURNING {COLUMNS}",
            changes | {"id": user_id},
        )[0]
        conn.execute(
            AUDIT,
            [
                user_id,
                "role_changed" if "role" in changes else "updated",
                caller.user_id,
                ", ".join(sorted(changes)),
            ],
        )
    return updated


def set_active(conn: Connection, caller: Principal, user_id: UUID, active: bool) -> UserOut:
    """Deactivate (revoking sessions; never the last admin) or reactivate a user."""
    user = find(conn, caller, user_id)
    may_manage(caller, user.organization_id, user.role)
    with conn.transaction():
        if not active:
            _keep_an_admin(conn, user)
            conn.execute("UPDATE user_sessions SET is_active = false WHERE user_id = %s", [user_id])
        status = "active" if active else "inactive"
        updated = rows(
            conn,
            UserOut,
            f"UPDATE users SET is_active = %s, user_status = %s, updated_at = now()"
            f" WHERE id = %s RETURNING {COLUMNS}",
            [active, status, user_id],
        )[0]
        conn.execute(AUDIT, [user_id, "reactivated" if active else "deactivated", caller.user_id, None])
    return updated


def unlock(conn: Connection, caller: Principal, user_id: UUID) -> UserOut:
    """Lift a lockout."""
    user = find(conn, caller, user_id)
    may_manage(caller, user.organization_id, user.role)
    with conn.transaction():
        updated = rows(
            conn,
            UserOut,
            "UPDATE users SET user_status = 'active', failed_login_attempts = 0, locked_until = NULL,"
            f" updated_at = now() WHERE id = %s AND user_status = 'locked' RETURNING {COLUMNS}",
            [user_id],
        )
        if not updated:
            raise conflict("not_locked", "the account is not locked")
        conn.execute(AUDIT, [user_id, "unlocked", caller.user_id, None])
    return updated[0]
