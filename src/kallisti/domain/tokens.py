"""Machine tokens as the API and the CLI show them (never the secret itself)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "TOKEN_NAME_PATTERN",
    "MachineTokenCreate",
    "MachineTokenCreated",
    "MachineTokenPublic",
    "RoleName",
    "parse_lifetime",
]

TOKEN_NAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"
RoleName = Literal["viewer", "operator", "editor", "admin"]

_LIFETIME = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `2w`, `45s` → a duration; raises `ValueError`."""
    match = _LIFETIME.match(text)
    if match is None:
        raise ValueError("must be a number and a unit (s, m, h, d, w), e.g. 90d")
    amount, unit = match.groups()
    if int(amount) == 0:
        raise ValueError("must be longer than zero")
    return timedelta(seconds=int(amount) * _UNITS[unit])


class MachineTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=TOKEN_NAME_PATTERN)
    role: RoleName
    expires: str | None = Field(
        default=None, description="Lifetime such as `90d`; omit for no expiry."
    )

    @field_validator("expires")
    @classmethod
    def _lifetime(cls, value: str | None) -> str | None:
        if value is not None:
            parse_lifetime(value)
        return value


class MachineTokenPublic(BaseModel):
    """A token's record; the secret is shown once, at creation, and never kept."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    role: RoleName
    created_by: str
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    revoked_at: AwareDatetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > now
        )


class MachineTokenCreated(MachineTokenPublic):
    token: str = Field(description="The secret. Shown this once; only a hash is kept.")
