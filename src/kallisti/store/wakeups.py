"""Waking workers in other processes: PostgreSQL LISTEN/NOTIFY.

A trial created (or asked to stop) sends a NOTIFY in the transaction that
records it, so PostgreSQL delivers it at commit and never for a rolled-back
write. Each worker LISTENs on a connection of its own and claims at once.

A notification is only a hint: a listener that is reconnecting misses some,
so workers keep polling as a fallback (rarely while their listener is up),
and the trial row stays the only record of the work. SQLite has no
cross-process notification; there the in-process worker is woken directly and
other processes poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy import Connection

__all__ = ["STOP_REQUESTED", "TRIAL_CREATED", "WakeupListener", "notify"]

logger = logging.getLogger(__name__)

TRIAL_CREATED = "kallisti_trial_created"
STOP_REQUESTED = "kallisti_stop_requested"

_NOTIFY = sa.text("SELECT pg_notify(:channel, '')")
_RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


def notify(conn: Connection, channel: str) -> None:
    """Send `channel` at this transaction's commit (PostgreSQL; a no-op elsewhere)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"channel": channel})


class WakeupListener:
    """LISTENs on the channels of `handlers` and calls the handler of each
    notification; reconnects with back-off after any connection failure.

    `listening` is true while notifications can arrive; a (re)connection calls
    every handler once, for what may have been missed while deaf.
    """

    def __init__(
        self, database_url: str, handlers: Mapping[str, Callable[[], None]]
    ) -> None:
        url = sa.engine.make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._handlers = dict(handlers)
        self.listening = False

    async def run(self) -> None:
        """Listen until cancelled."""
        import psycopg

        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    for channel in self._handlers:
                        await conn.execute(f'LISTEN "{channel}"')
                    self.listening = True
                    failures = 0
                    for handler in self._handlers.values():
                        handler()
                    async for notification in conn.notifies():
                        woken = self._handlers.get(notification.channel)
                        if woken is not None:
                            woken()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                logger.warning(
                    "listening for new trials failed (%s); polling until it is back",
                    str(err).splitlines()[0] if str(err) else type(err).__name__,
                    extra={"action": "listen"},
                )
            finally:
                self.listening = False
            await asyncio.sleep(_RECONNECT_SECONDS[min(failures, 3)])
            failures += 1
