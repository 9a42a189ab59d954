"""/session: who the caller is and what it may do, and how to sign in.

Public on purpose: the console asks it before anyone has signed in, to know
whether a sign-in is needed and which identity provider to send people to.
The API stays the judge of every call; this only lets the console show what
the caller's roles allow.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import Anyone, State
from kallisti.auth import AccessRefused, Permission
from kallisti.settings import Settings

router = APIRouter(prefix="/session", tags=["session"])


class OAuth2SignIn(BaseModel):
    """The identity provider the console sends people to (Kallisti's
    KALLISTI_AUTH_* settings, as Swagger UI's Authorize button uses them)."""

    flow: str
    authorization_url: str | None
    token_url: str | None
    client_id: str
    token_name: str | None


class SessionPublic(BaseModel):
    """The caller as the API sees it."""

    access_control: bool = Field(description="Whether calls need a token.")
    signed_in: bool = Field(description="Whether the caller's token was accepted.")
    user_id: str | None
    kind: str | None = Field(description='"jwt", "token", "custom" or "anonymous".')
    roles: list[str] | None = Field(
        description="The caller's roles; null when roles are not configured "
        "(every valid caller may do everything)."
    )
    permissions: list[str] = Field(
        description="What the caller may do: public, read, operate, edit, admin."
    )
    scopes: list[str] | None = Field(
        default=None,
        description="With KALLISTI_AUTH_SCOPE_LABEL set, the label values whose "
        "experiments the caller sees (empty: none); null: every experiment.",
    )
    problem: str | None = Field(description="Why a token sent was not accepted.")
    oauth2: OAuth2SignIn | None


def _oauth2(settings: Settings) -> OAuth2SignIn | None:
    if not settings.access_control or not settings.auth_client_id:
        return None
    if not (settings.auth_url or settings.auth_jwt_token_url):
        return None
    return OAuth2SignIn(
        flow=settings.auth_flow,
        authorization_url=settings.auth_url or None,
        token_url=settings.auth_jwt_token_url or None,
        client_id=settings.auth_client_id,
        token_name=settings.auth_token_name or None,
    )


@router.get("")
async def read_session(request: Request, state: State, _: Anyone) -> SessionPublic:
    """The caller's id, roles and permissions (from its bearer token, if any),
    and the OAuth2 sign-in the service is configured with."""
    oauth2 = _oauth2(state.settings)
    access = state.access
    try:
        principal = await run_in_threadpool(access.authenticate, request)
    except AccessRefused as refusal:
        sent = "authorization" in request.headers
        return SessionPublic(
            access_control=True,
            signed_in=False,
            user_id=None,
            kind=None,
            roles=[],
            permissions=[Permission.PUBLIC.value],
            scopes=[] if access.scope_label else None,
            problem=str(refusal) if sent else None,
            oauth2=oauth2,
        )
    scope = access.scope_for(principal)
    return SessionPublic(
        access_control=access.enabled,
        signed_in=access.enabled,
        user_id=principal.user_id,
        kind=principal.kind,
        roles=None if principal.roles is None else principal.role_names(),
        permissions=[p.value for p in Permission if principal.may(p)],
        scopes=None if scope is None else sorted(scope.values),
        problem=None,
        oauth2=oauth2,
    )
