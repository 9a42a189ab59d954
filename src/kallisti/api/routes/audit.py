"""/audit: the hash-chained record of every change, and its verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from kallisti.api.deps import Admin, State
from kallisti.api.times import UtcTime
from kallisti.domain.models import check_stored_text
from kallisti.store.audit import AuditFilter

router = APIRouter(prefix="/audit", tags=["audit"])

_ENTRY_FIELDS = (
    "seq",
    "id",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "before_digest",
    "after_digest",
    "detail",
    "prev_hash",
    "hash",
)


def _storable(value: str | None) -> str | None:
    # PostgreSQL cannot even compare text holding a NUL: a 400, not a 500.
    return None if value is None else check_stored_text(value)


_Storable = AfterValidator(_storable)


@router.get("")
def list_audit_entries(
    state: State,
    _: Admin,
    actor: Annotated[str | None, Query(max_length=255), _Storable] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. trial.status"), _Storable
    ] = None,
    target_type: Annotated[str | None, Query(max_length=32), _Storable] = None,
    target_id: Annotated[str | None, Query(max_length=64), _Storable] = None,
    since: Annotated[UtcTime | None, Query(description="At or after.")] = None,
    until: Annotated[UtcTime | None, Query(description="Before.")] = None,
    after_seq: Annotated[
        int | None, Query(ge=0, le=2**62, description="Entries after this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Audit entries, oldest first; page on with `after_seq`."""
    where = AuditFilter(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        after_seq=after_seq,
    )
    rows = state.store.audit.list(where, limit)
    return [{name: row[name] for name in _ENTRY_FIELDS} for row in rows]


@router.get(
    "/verify",
    responses={409: {"description": "The chain is broken at `first_bad`."}},
)
def verify_audit_chain(state: State, _: Admin) -> JSONResponse:
    """Walk the whole chain: 200 `{"ok": true, "entries": N}`, or 409 with the
    first entry that was edited, moved or follows a deleted one."""
    report = state.store.audit.verify()
    return JSONResponse(status_code=200 if report.ok else 409, content=report.to_json())
