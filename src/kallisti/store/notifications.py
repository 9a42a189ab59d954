"""The notification settings (a single row), and what a notification says of a trial."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kallisti.domain.errors import NotFound
from kallisti.domain.notifications import NotificationSettings, NotificationUpdate
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository
from kallisti.store.tables import notification_settings, trials

__all__ = ["NotificationRepository"]

_ROW_ID = 1


class NotificationRepository(Repository):
    """Reads and replaces the notification settings."""

    def get(self) -> NotificationSettings:
        """The current settings (empty ones when never set); read after every
        trial that ends, in one statement."""
        with self._read_one_statement() as conn:
            row = conn.execute(
                sa.select(notification_settings).where(
                    notification_settings.c.id == _ROW_ID
                )
            ).first()
        if row is None:
            return NotificationSettings()
        return NotificationSettings.model_validate(
            {"emails": row.emails, "webhooks": row.webhooks}
        )

    def replace(self, update: NotificationUpdate) -> NotificationSettings:
        """Apply a PUT (see `NotificationSettings.merged_with`) and return the
        result. Raises `InvalidInput` for a masked secret with nothing stored."""
        with self._write() as conn:
            row = conn.execute(
                sa.select(notification_settings).where(
                    notification_settings.c.id == _ROW_ID
                )
            ).first()
            current = (
                NotificationSettings()
                if row is None
                else NotificationSettings.model_validate(
                    {"emails": row.emails, "webhooks": row.webhooks}
                )
            )
            merged = current.merged_with(update)
            values = {**merged.to_json(), "updated_at": self._clock()}
            if row is None:
                conn.execute(
                    notification_settings.insert().values(id=_ROW_ID, **values)
                )
            else:
                conn.execute(
                    notification_settings.update()
                    .where(notification_settings.c.id == _ROW_ID)
                    .values(**values)
                )
            change = AuditChange(
                "notification.replace",
                "notification",
                None,
                current.to_json(),
                merged.to_json(),
            )
            audit_changes(conn, values["updated_at"], [change])
        return merged

    def experiment_name_of(self, trial_id: uuid.UUID) -> str:
        """The name of the experiment a trial ran, as it was then; raises
        `NotFound` for an unknown trial."""
        with self._read() as conn:
            snapshot = conn.execute(
                sa.select(trials.c.experiment_snapshot).where(
                    trials.c.id == str(trial_id)
                )
            ).scalar()
        if snapshot is None:
            raise NotFound("Trial", trial_id)
        return str(snapshot.get("name", ""))
