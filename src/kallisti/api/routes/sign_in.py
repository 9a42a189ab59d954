"""/session/token: the console's authorization-code sign-in (with PKCE), the
code traded for a token on the server (see `kallisti.auth.code_sign_in`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import Anyone, State
from kallisti.auth.code_sign_in import exchange_code

__all__ = ["CodeExchange", "TokenPublic", "router"]

router = APIRouter(prefix="/session", tags=["session"])


class CodeExchange(BaseModel):
    """Body of POST /session/token."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[
        str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[\x21-\x7e]+$")
    ] = Field(description="The code the identity provider sent back.")
    code_verifier: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9._~-]{43,128}$")
    ] = Field(description="The PKCE verifier (RFC 7636) the challenge was made from.")
    redirect_uri: Annotated[str, StringConstraints(max_length=2048)] = Field(
        description="The console's address the code was sent to (`<service>/ui`)."
    )

    @field_validator("redirect_uri")
    @classmethod
    def _the_console(cls, value: str) -> str:
        # Only the console's own address: this route trades codes for it alone.
        if not value.startswith(("http://", "https://")) or not value.endswith("/ui"):
            raise ValueError("must be the console's address, ending in /ui")
        return value


class TokenPublic(BaseModel):
    access_token: str
    token_type: str
    expires_in: int | None


@router.post("/token")
async def exchange_sign_in_code(
    body: CodeExchange, state: State, _: Anyone
) -> TokenPublic:
    """Trade the code from the configured identity provider's sign-in page for
    an access token (authorization-code flow with PKCE). 400 naming `code` when
    the provider refuses it, 409 when the service is not set up for this flow,
    503 when the provider cannot be reached."""
    answer = await run_in_threadpool(
        exchange_code,
        state.settings,
        code=body.code,
        code_verifier=body.code_verifier,
        redirect_uri=body.redirect_uri,
    )
    return TokenPublic.model_validate(answer)
