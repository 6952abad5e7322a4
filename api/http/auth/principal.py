"""Who is calling: the signed-in user, their role, and the organizations they may see and act in.

Scoping: a super_admin sees everything; an admin their own organization and
its supplier children; a user their own organization only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ledger.postgres.connection import Connection


class Role(StrEnum):
    """The spec's user roles."""

    USER = "user"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request."""

    user_id: UUID
    organization_id: UUID
    organization_type: str
    role: Role
    session_id: UUID
    scope: frozenset[UUID] | None  # organizations in reach; None: all of them

    @property
    def is_super_admin(self) -> bool:
        """Whether the caller may see and do everything."""
        return self.role is Role.SUPER_ADMIN

    @property
    def is_admin(self) -> bool:
        """Whether the caller is an admin or a super_admin."""
        return self.role in (Role.ADMIN, Role.SUPER_ADMIN)

    def sees(self, organization_id: UUID | None) -> bool:
        """Whether `organization_id` is within the caller's reach."""
        return self.scope is None or organization_id in self.scope

    def scope_list(self) -> list[UUID] | None:
        """The scope as a SQL parameter: NULL means unrestricted."""
        return None if self.scope is None else sorted(self.scope)


# One round trip per request: the session, its user and organization, an admin's scope, and the
# `last_activity` touch, which writes at most once a minute per session (a data-modifying CTE runs
# whether or not the outer query reads it).
SESSION = """
WITH found AS (
    SELECT u.id AS user_id, u.organization_id, o.organization_type::text AS organization_type,
           u.role::text AS role, s.id AS session_id
    FROM user_sessions s
    JOIN users u ON u.id = s.user_id
    JOIN organizations o ON o.id = u.organization_id
    WHERE s.session_token = %s AND s.is_active AND s.expires_at > now()
      AND u.is_active AND u.user_status = 'active' AND o.is_active
), touched AS (
    UPDATE user_sessions SET last_activity = now()
    WHERE id = (SELECT session_id FROM found) AND last_activity < now() - interval '1 minute'
)
SELECT f.user_id, f.organization_id, f.organization_type, f.role, f.session_id,
       CASE WHEN f.role = 'admin' THEN ARRAY(
           SELECT c.id FROM organizations c
           WHERE c.id = f.organization_id
              OR (c.parent_organization_id = f.organization_id AND c.organization_type = 'supplier')
       ) END
FROM found f
"""


def load_principal(conn: Connection, token_digest: str) -> Principal | None:
    """The principal of an active, unexpired session; None otherwise."""
    row = conn.execute(SESSION, [token_digest]).fetchone()
    if row is None:
        return None
    user_id, organization_id, organization_type, role_name, session_id, admin_scope = row
    role = Role(role_name)
    scope: frozenset[UUID] | None
    if role is Role.SUPER_ADMIN:
        scope = None
    elif role is Role.ADMIN:
        scope = frozenset(admin_scope)
    else:
        scope = frozenset({organization_id})
    return Principal(user_id, organization_id, organization_type, role, session_id, scope)
