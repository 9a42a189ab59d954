"""Machine tokens: only a SHA-256 of each secret is stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kallisti.domain.errors import InvalidInput, NotFound
from kallisti.domain.tokens import MachineTokenPublic, RoleName
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository
from kallisti.store.tables import machine_tokens

__all__ = ["TokenRepository"]

_PUBLIC = (
    machine_tokens.c.id,
    machine_tokens.c.name,
    machine_tokens.c.role,
    machine_tokens.c.created_by,
    machine_tokens.c.created_at,
    machine_tokens.c.expires_at,
    machine_tokens.c.revoked_at,
)


def _public(row: sa.RowMapping) -> MachineTokenPublic:
    return MachineTokenPublic.model_validate(dict(row))


class TokenRepository(Repository):
    """Creates, lists, revokes and looks up machine tokens."""

    def create(
        self,
        *,
        name: str,
        role: RoleName,
        token_hash: str,
        created_by: str,
        lifetime: timedelta | None,
    ) -> MachineTokenPublic:
        """Record a token by its hash. Raises `InvalidInput` on `name` when a
        live token already has it."""
        now = self._clock()
        try:
            expires_at = None if lifetime is None else now + lifetime
        except OverflowError:
            raise InvalidInput("expires", "ends after the year 9999") from None
        values = {
            "id": str(uuid.uuid4()),
            "name": name,
            "role": role,
            "token_hash": token_hash,
            "created_by": created_by,
            "created_at": now,
            "expires_at": expires_at,
            "revoked_at": None,
        }
        try:
            with self._write() as conn:
                conn.execute(machine_tokens.insert().values(values))
                shown = {k: v for k, v in values.items() if k != "token_hash"}
                change = AuditChange("token.create", "token", name, None, shown)
                audit_changes(conn, now, [change], actor=created_by)
        except IntegrityError:
            raise InvalidInput(
                "name", f"a live token is already named {name!r}; revoke it first"
            ) from None
        return MachineTokenPublic.model_validate(values)

    def list(self, *, include_revoked: bool = False) -> list[MachineTokenPublic]:
        """Tokens, oldest first; revoked ones only when asked."""
        query = sa.select(*_PUBLIC).order_by(
            machine_tokens.c.created_at, machine_tokens.c.id
        )
        if not include_revoked:
            query = query.where(machine_tokens.c.revoked_at.is_(None))
        with self._read() as conn:
            return [_public(row) for row in conn.execute(query).mappings()]

    def revoke(self, name: str) -> MachineTokenPublic:
        """Revoke the live token of that name at once. Raises `NotFound`."""
        live = (machine_tokens.c.name == name) & machine_tokens.c.revoked_at.is_(None)
        with self._write() as conn:
            row = (
                conn.execute(
                    machine_tokens.update()
                    .where(live)
                    .values(revoked_at=self._clock())
                    .returning(*_PUBLIC)
                )
                .mappings()
                .first()
            )
            if row is not None:
                audit_changes(
                    conn, self._clock(), [AuditChange("token.revoke", "token", name)]
                )
        if row is None:
            raise NotFound("Token", name)
        return _public(row)

    def find_live(self, token_hash: str) -> MachineTokenPublic | None:
        """The live (not revoked, not expired) token with that hash, if any."""
        now: datetime = self._clock()
        query = sa.select(*_PUBLIC).where(
            (machine_tokens.c.token_hash == token_hash)
            & machine_tokens.c.revoked_at.is_(None)
            & (
                machine_tokens.c.expires_at.is_(None)
                | (machine_tokens.c.expires_at > now)
            )
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _public(row)
