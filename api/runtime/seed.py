"""First start: the two fixed organizations (Oraseas EE, BossAqua) and a first super_admin. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from api.http.auth.security import hash_password
from ledger.postgres.eventstore import Connection

ORASEAS = "Oraseas EE"
BOSSAQUA = "BossAqua"

FIND_ORGANIZATION = "SELECT id FROM organizations WHERE organization_type = %s::organization_type_enum"
CREATE_ORGANIZATION = """
INSERT INTO organizations (name, organization_type) VALUES (%s, %s::organization_type_enum) RETURNING id
"""
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
    created: tuple[str, ...]


def bootstrap(conn: Connection, username: str, email: str, password: str) -> Bootstrapped:
    """Create whatever of the fixed organizations and the first super_admin is missing."""
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
        row = conn.execute(FIND_USER, [username, email]).fetchone()
        if row is None:
            row = conn.execute(
                CREATE_ADMIN, [ids["oraseas_ee"], username, email, hash_password(password), username]
            ).fetchone()
            assert row is not None
            conn.execute(AUDIT, [row[0], row[0]])
            created.append(f"super_admin {username}")
    return Bootstrapped(ids["oraseas_ee"], ids["bossaqua"], row[0], tuple(created))
