"""Sign-in routes: POST /token (OAuth2 password form), POST /logout, GET /users/me."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.http.auth.signin import Client, sign_in, sign_out
from api.http.deps import AppSettings, Connection, CurrentUser
from api.http.problems import not_found

router = APIRouter(tags=["auth"])

ME = """
SELECT id, organization_id, username, email, name, role::text, user_status::text, is_active, last_login,
    created_at
FROM users WHERE id = %s
"""


class Token(BaseModel):
    """A bearer token and when it expires."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_at: datetime


class Me(BaseModel):
    """The signed-in user."""

    id: UUID
    organization_id: UUID
    username: str
    email: str
    name: str | None
    role: str
    user_status: str
    is_active: bool
    last_login: datetime | None
    created_at: datetime


def client_of(request: Request) -> Client:
    """The caller's address and user agent, for security_events."""
    return Client(request.client.host if request.client else None, request.headers.get("user-agent"))


@router.post("/token", response_model=Token, summary="Sign in")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    conn: Connection,
    settings: AppSettings,
) -> Token:
    """Exchange a username (or email) and password for a bearer token."""
    session = sign_in(conn, form.username, form.password, client_of(request), settings.token_lifetime)
    return Token(access_token=session.access_token, expires_at=session.expires_at)


@router.post("/logout", status_code=204, response_class=Response, summary="Sign out")
def logout(user: CurrentUser, request: Request, conn: Connection) -> None:
    """Revoke the token this request was made with."""
    sign_out(conn, user.user_id, user.session_id, client_of(request))


@router.get("/users/me", response_model=Me, summary="The signed-in user")
def me(user: CurrentUser, conn: Connection) -> Me:
    """Who the token belongs to."""
    row = conn.execute(ME, [user.user_id]).fetchone()
    if row is None:
        raise not_found("user")
    return Me(**dict(zip(Me.model_fields, row, strict=True)))
