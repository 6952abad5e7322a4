"""First start: the two fixed organizations (Oraseas EE, BossAqua) and a first super_admin. Idempotent.

Once any super_admin exists, running it again (with any username) adds no user: further
super_admins are made through the API, by a super_admin, and audited there.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from api.http.auth.security import hash_password
from ledger.postgres.connection import Connection

ORASEAS = "Oraseas EE"
BOSSAQUA = "BossAqua"

FIND_ORGANIZATION = "SELECT id FROM organizations WHERE organization_type = %s::organization_type_enum"
CREATE_ORGANIZATION = """
INSERT INTO organizations (name, organization_type) VALUES (%s, %s::organization_type_enum) RETURNING id
"""
FIND_SUPER_ADMIN = "SELECT id, username FROM users WHERE role = 'super_admin' ORDER BY created_at, id LIMIT 1"
FIND_USER = "SELECT id FROM users WHERE username = %s OR lower(email) = lower(%s)"
CREATE_ADMIN = """
INSERT INTO users (organization_id, username, email, password_hash, name, role, user_status, is_active)
VALUES (%s, %s, %s, %s, %s, 'super_admin', 'active', true) RETURNING id
"""
AUDIT = """
INSERT INTO user_management_audit_logs (user_id, action, performed_by_user_id, details)
VALUES (%s, 'bootstrap', %s, 'first super_admin created by abparts bootstrap')
"""


@dataclass(frozen=True)
class Bootstrapped:
    """What bootstrap found or created."""

    oraseas_id: UUID
    bossaqua_id: UUID
    admin_id: UUID
    admin_username: str  # the super_admin created, or the first one found
    created: tuple[str, ...]


def bootstrap(conn: Connection, username: str, email: str, password: str) -> Bootstrapped:
    """Create whatever of the fixed organizations and the first super_admin is missing.

    With a super_admin already there, no user is created, whatever `username` says.
    """
    created: list[str] = []
    with conn.transaction():
        conn.execute("LOCK TABLE organizations IN SHARE ROW EXCLUSIVE MODE")  # two bootstraps at once
        ids = {}
        for kind, name in (("oraseas_ee", ORASEAS), ("bossaqua", BOSSAQUA)):
            row = conn.execute(FIND_ORGANIZATION, [kind]).fetchone()
            if row is None:
                row = conn.execute(CREATE_ORGANIZATION, [name, kind]).fetchone()
                created.append(f"organization {name}")
            assert row is not None
            ids[kind] = row[0]
        # Any super_admin, whatever its name, means the set-up is done: a second run under another
        # username must not mint a second super_admin outside the API's checks and audit.
        found = conn.execute(FIND_SUPER_ADMIN).fetchone()
        admin_id, admin_name = found or _create_admin(
            conn, ids["oraseas_ee"], username, email, password, created
        )
    return Bootstrapped(ids["oraseas_ee"], ids["bossaqua"], admin_id, admin_name, tuple(created))


class NameTaken(ValueError):
    """The first super_admin's username or email already belongs to a user who is not one."""


def _create_admin(
    conn: Connection, oraseas_id: UUID, username: str, email: str, password: str, created: list[str]
) -> tuple[UUID, str]:
    row = conn.execute(FIND_USER, [username, email]).fetchone()
    if row is not None:  # no super_admin exists (the caller looked): this user is not one
        raise NameTaken(f"a user with username {username!r} or email {email!r} exists and is no super_admin")
    row = conn.execute(
        CREATE_ADMIN, [oraseas_id, username, email, hash_password(password), username]
    ).fetchone()
    assert row is not None
    conn.execute(AUDIT, [row[0], row[0]])
    created.append(f"super_admin {username}")
    return row[0], username
