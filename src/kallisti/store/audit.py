"""The audit trail: an append-only log whose entries are hash-chained.

Each entry's hash is SHA-256 over its own fields and the previous entry's hash,
and `seq` counts 1, 2, 3, ... without gaps, so editing, reordering or deleting
a row breaks the chain where it happened; the single `audit_head` row holds the
newest seq and hash, so cutting off the tail is caught too.

Entries are written by `audit_changes()` inside the transaction of the change they
describe: the change and its entry commit together or not at all.

Concurrency: `audit_changes()` locks the head row (PostgreSQL: SELECT ... FOR UPDATE;
SQLite serialises every writer with BEGIN IMMEDIATE already), so appenders on
any number of workers queue there from their append until their commit. To
keep that window (and lock ordering) small, `audit_changes()` must be the LAST
statement of its transaction: no other row is locked after the head, so two
appenders can never deadlock.
"""

from __future__ import annotations

import builtins
import contextvars
import functools
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from kallisti.store.base import Repository
from kallisti.store.db import DriverStatement
from kallisti.store.tables import audit_head, audit_log

__all__ = [
    "GENESIS",
    "AuditActor",
    "AuditChange",
    "AuditFilter",
    "AuditRepository",
    "ChainReport",
    "audit_appended_together",
    "audit_changes",
    "current_actor",
    "digest",
]

GENESIS = "0" * 64
_HEAD_ID = 1
# Where `audit_appended_together` keeps the entries waiting on a connection.
_PENDING = "kallisti_audit_pending"
_VERIFY_BATCH = 2000


@dataclass(frozen=True)
class AuditActor:
    """Who causes the writes of the current API call."""

    actor: str
    request_id: str | None = None


current_actor: contextvars.ContextVar[AuditActor | None] = contextvars.ContextVar(
    "kallisti_audit_actor", default=None
)
"""Set by the API for each call; entries written without an explicit actor
are attributed to it (or to "system" outside any call)."""


@dataclass(frozen=True)
class AuditChange:
    """One change to record."""

    action: str
    """`<object>.<verb>`, e.g. `experiment.update`, `trial.status`."""
    target_type: str
    target_id: str | None
    before: Any = None
    """The object before the change (only its digest is kept)."""
    after: Any = None
    detail: Mapping[str, str] = field(default_factory=dict)


def digest(value: Any) -> str | None:
    """SHA-256 of a value's canonical JSON; None for None."""
    if value is None:
        return None
    return hashlib.sha256(_canonical(value)).hexdigest()


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_ORJSON, default=str)
    except (orjson.JSONEncodeError, TypeError):
        # orjson refuses integers beyond 64 bits; the digest must still exist.
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        return text.encode()


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _entry_hash(row: Mapping[str, Any] | sa.RowMapping) -> str:
    at: datetime = row["at"]
    fields = [
        row["seq"],
        row["id"],
        at.isoformat(),
        row["actor"],
        row["action"],
        row["target_type"],
        row["target_id"],
        row["request_id"],
        row["before_digest"],
        row["after_digest"],
        dict(row["detail"]),
        row["prev_hash"],
    ]
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def audit_changes(
    conn: Connection,
    now: datetime,
    changes: Sequence[AuditChange],
    *,
    actor: str | None = None,
) -> None:
    """Append entries for `changes` in `conn`'s transaction (its last statement),
    or when the enclosing `audit_appended_together` block ends."""
    if not changes:
        return
    context = current_actor.get()
    who = actor or (context.actor if context else "system")
    request_id = context.request_id if context else None
    entries = [
        {
            "id": str(uuid.uuid4()),
            "at": now,
            "actor": who[:255],
            "action": change.action,
            "target_type": change.target_type,
            "target_id": change.target_id,
            "request_id": request_id,
            "before_digest": digest(change.before),
            "after_digest": digest(change.after),
            "detail": dict(change.detail),
        }
        for change in changes
    ]
    pending: list[dict[str, Any]] | None = conn.info.get(_PENDING)
    if pending is None:
        _append(conn, entries)
    else:
        pending.extend(entries)


@contextmanager
def audit_appended_together(conn: Connection) -> Iterator[None]:
    """Within this block, the entries `audit_changes` makes on `conn` wait, and
    are appended together as it ends without error: the many writes of one
    shared transaction (`WriteBatch`) then lock and move the head once, with one
    insert, instead of once each. Still in their transaction, still last."""
    pending: list[dict[str, Any]] = []
    conn.info[_PENDING] = pending
    try:
        yield
    finally:
        del conn.info[_PENDING]
    _append(conn, pending)


def _append(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Chain `entries` (each without `seq`, `prev_hash` and `hash`) after the
    head, in order, and move the head to the last."""
    if not entries:
        return
    lock_head, insert, move_head = _statements(conn.dialect)
    head = lock_head.run(conn)
    if head is None:
        raise RuntimeError("the audit head row is missing: run `kallisti migrate`")
    seq, previous = int(head[0]), str(head[1])
    for entry in entries:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = previous
        entry["hash"] = previous = _entry_hash(entry)
    insert.run_many(conn, entries)
    move_head.run(conn, new_seq=seq, new_hash=previous)


# Built once: compiling them on every append was most of the append's CPU time.
_LOCK_HEAD = (
    sa.select(audit_head.c.seq, audit_head.c.hash)
    .where(audit_head.c.id == _HEAD_ID)
    .with_for_update()
)
_INSERT = audit_log.insert()
_INSERT_COLUMNS = tuple(audit_log.c.keys())  # an entry gives every column
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == _HEAD_ID)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


@functools.lru_cache(maxsize=16)
def _statements(
    dialect: Dialect,
) -> tuple[DriverStatement, DriverStatement, DriverStatement]:
    """The append's statements, compiled once per dialect (per engine)."""
    return (
        DriverStatement(_LOCK_HEAD, dialect),
        DriverStatement(_INSERT, dialect, columns=_INSERT_COLUMNS),
        DriverStatement(_MOVE_HEAD, dialect),
    )


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: ok with the number of entries, or the first bad one."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.ok:
            return {"ok": True, "entries": self.entries}
        return {
            "ok": False,
            "entries": self.entries,
            "first_bad": {"seq": self.first_bad_seq, "id": self.first_bad_id},
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int | None = None


class AuditRepository(Repository):
    """Reads and checks the audit log (writes go through `audit_changes`)."""

    def list(
        self, where: AuditFilter, limit: int = 100
    ) -> builtins.list[dict[str, Any]]:
        """Entries matching `where`, oldest first, at most `limit`."""
        conditions: list[sa.ColumnElement[bool]] = []
        c = audit_log.c
        if where.actor is not None:
            conditions.append(c.actor == where.actor)
        if where.action is not None:
            conditions.append(c.action == where.action)
        if where.target_type is not None:
            conditions.append(c.target_type == where.target_type)
        if where.target_id is not None:
            conditions.append(c.target_id == where.target_id)
        if where.since is not None:
            conditions.append(c.at >= where.since)
        if where.until is not None:
            conditions.append(c.at < where.until)
        if where.after_seq is not None:
            conditions.append(c.seq > where.after_seq)
        query = sa.select(audit_log).where(*conditions).order_by(c.seq).limit(limit)
        with self._read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first entry that breaks it."""
        with self._read() as conn:
            head = conn.execute(
                sa.select(audit_head.c.seq, audit_head.c.hash).where(
                    audit_head.c.id == _HEAD_ID
                )
            ).one()
            expected_seq, previous, count = 1, GENESIS, 0
            for row in _rows(conn):
                count += 1
                problem = _check(row, expected_seq, previous)
                if problem is not None:
                    return ChainReport(False, count - 1, row["seq"], row["id"], problem)
                expected_seq, previous = row["seq"] + 1, row["hash"]
            if head.seq != expected_seq - 1 or head.hash != previous:
                return ChainReport(
                    False,
                    count,
                    expected_seq,
                    None,
                    f"the chain ends at seq {expected_seq - 1} but its head records "
                    f"seq {head.seq}: entries were deleted from the end, or the "
                    "head was altered",
                )
        return ChainReport(True, count)


def _rows(conn: Connection) -> Iterator[sa.RowMapping]:
    last = 0
    while True:
        batch = (
            conn.execute(
                sa.select(audit_log)
                .where(audit_log.c.seq > last)
                .order_by(audit_log.c.seq)
                .limit(_VERIFY_BATCH)
            )
            .mappings()
            .all()
        )
        if not batch:
            return
        yield from batch
        last = batch[-1]["seq"]


def _check(row: sa.RowMapping, expected_seq: int, previous: str) -> str | None:
    if row["seq"] != expected_seq:
        if row["seq"] > expected_seq:
            return (
                f"seq {row['seq']} follows seq {expected_seq - 1}: "
                f"{row['seq'] - expected_seq} entries before it are missing"
            )
        return f"seq {row['seq']} is out of order"
    if row["prev_hash"] != previous:
        return "its prev_hash does not match the previous entry's hash"
    if _entry_hash(row) != row["hash"]:
        return "its content does not match its hash: the row was altered"
    return None
