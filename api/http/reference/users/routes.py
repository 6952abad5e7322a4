"""User routes: list, read, create or invite, invitations, password resets, change, (de)activate, unlock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.location import created
from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.reference.common import by_name
from api.http.reference.users import service as u
from api.http.reference.users import tokens

router = APIRouter(tags=["users"])


class ResetIssued(BaseModel):
    """A reset token for a user, for an admin to hand over (shown once)."""

    password_reset_token: str
    expires_at: datetime


@router.get("/users", response_model=Page[u.UserOut], summary="Users")
def list_users(
    conn: Connection,
    caller: CurrentUser,
    organization_id: UUID | None = None,
    role: Annotated[str | None, Query(pattern="^(user|admin|super_admin)$")] = None,
    user_status: Annotated[str | None, Query(pattern="^(active|inactive|pending_invitation|locked)$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[u.UserOut]:
    """Users of the caller's organizations, by username."""
    filters = {
        "organization_id": organization_id,
        "role": role,
        "user_status": user_status,
    } | by_name(cursor, limit)
    return page(u.listing(conn, caller, filters), limit, NAMED, lambda r: (r.username, r.id))


@router.post("/users", status_code=201, response_model=u.Created, summary="Create or invite a user")
def create_user(
    body: u.UserIn, conn: Connection, caller: CurrentUser, settings: AppSettings, response: Response
) -> u.Created:
    """With a password: an active user. Without: a pending invitation whose token is returned once."""
    made = u.create(conn, caller, body, settings.max_users)
    created(response, "/users", made.id)
    return made


@router.post("/users/accept-invitation", response_model=u.UserOut, summary="Accept an invitation")
def accept_invitation(body: tokens.TokenPassword, conn: Connection) -> u.UserOut:
    """Set a password with an invitation token: the account becomes active."""
    return tokens.accept_invitation(conn, body)


@router.post("/users/password-reset", status_code=202, summary="Ask for a password reset")
def request_password_reset(body: tokens.ResetRequest, conn: Connection) -> dict[str, str]:
    """Always 202, whether or not the account exists. With no mail service here, an admin hands the token
    over (POST /users/{user_id}/password-reset)."""
    tokens.request_reset(conn, body.username_or_email)
    return {"status": "accepted"}


@router.post(
    "/users/password-reset/confirm", status_code=204, response_class=Response, summary="Set a new password"
)
def confirm_password_reset(body: tokens.TokenPassword, conn: Connection) -> None:
    """Set a new password with a reset token; other sessions are signed out."""
    tokens.confirm_reset(conn, body)


@router.get("/users/{user_id}", response_model=u.UserOut, summary="One user")
def get_user(user_id: UUID, conn: Connection, caller: CurrentUser) -> u.UserOut:
    """A user in the caller's reach."""
    return u.find(conn, caller, user_id)


@router.patch("/users/{user_id}", response_model=u.UserOut, summary="Change a user")
def change_user(user_id: UUID, body: u.UserChange, conn: Connection, caller: CurrentUser) -> u.UserOut:
    """A user changes its own name and email; an admin those of its users, and their role."""
    return u.change(conn, caller, user_id, body)


@router.post("/users/{user_id}/deactivate", response_model=u.UserOut, summary="Deactivate a user")
def deactivate_user(user_id: UUID, conn: Connection, caller: CurrentUser) -> u.UserOut:
    """Deactivate and sign out everywhere (never an organization's last active admin)."""
    return u.set_active(conn, caller, user_id, active=False)


@router.post("/users/{user_id}/reactivate", response_model=u.UserOut, summary="Reactivate a user")
def reactivate_user(user_id: UUID, conn: Connection, caller: CurrentUser) -> u.UserOut:
    """Let a deactivated user sign in again."""
    return u.set_active(conn, caller, user_id, active=True)


@router.post("/users/{user_id}/unlock", response_model=u.UserOut, summary="Unlock a user")
def unlock_user(user_id: UUID, conn: Connection, caller: CurrentUser) -> u.UserOut:
    """Lift a lockout after failed sign-ins."""
    return u.unlock(conn, caller, user_id)


@router.post("/users/{user_id}/password-reset", status_code=201, response_model=ResetIssued, summary="Reset")
def issue_password_reset(user_id: UUID, conn: Connection, caller: CurrentUser) -> ResetIssued:
    """An admin issues a reset token for a user of its organizations (valid one hour)."""
    token, expires = tokens.issue_reset_for(conn, caller, user_id)
    return ResetIssued(password_reset_token=token, expires_at=expires)
