"""/token: machine tokens for CI pipelines (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from kallisti.api.deps import Admin, State
from kallisti.auth.tokens import MachineTokens
from kallisti.domain.tokens import (
    TOKEN_NAME_PATTERN,
    MachineTokenCreate,
    MachineTokenCreated,
    MachineTokenPublic,
)

router = APIRouter(prefix="/token", tags=["token"])


@router.get("")
def list_tokens(
    state: State,
    _: Admin,
    include_revoked: Annotated[bool, Query(description="Revoked ones too.")] = False,
) -> list[MachineTokenPublic]:
    """Machine tokens, oldest first, without their secrets."""
    return MachineTokens(state.store.tokens).list(include_revoked=include_revoked)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(
    body: MachineTokenCreate, state: State, caller: Admin
) -> MachineTokenCreated:
    """Create a token with one role; `token` in the answer is the secret, shown
    this once (only its hash is kept). 400 when a live token has the name."""
    return MachineTokens(state.store.tokens).create(body, created_by=caller.user_id)


@router.delete("/{name}")
def revoke_token(
    # A name no token can have (a NUL, which PostgreSQL cannot even compare)
    # names nothing: 404, as for any path id that cannot exist.
    name: Annotated[str, Path(max_length=100, pattern=TOKEN_NAME_PATTERN)],
    state: State,
    _: Admin,
) -> MachineTokenPublic:
    """Revoke a token at once; 404 when no live token has that name."""
    return MachineTokens(state.store.tokens).revoke(name)
