"""/notification: who is told when a trial completes (e-mails, webhooks)."""

from __future__ import annotations

from fastapi import APIRouter

from kallisti.api.deps import CurrentUser, State
from kallisti.domain.notifications import NotificationPublic, NotificationUpdate
from kallisti.store.notifications import NotificationRepository

router = APIRouter(prefix="/notification", tags=["notification"])


def _notifications(state: State) -> NotificationRepository:
    return NotificationRepository(state.store.engine, state.store.clock)


@router.get("")
def read_notification(state: State, _: CurrentUser) -> NotificationPublic:
    """The e-mail addresses and webhooks notified when a trial completes;
    webhook secrets are shown masked."""
    return _notifications(state).get().public()


@router.put("")
def replace_notification(
    body: NotificationUpdate, state: State, _: CurrentUser
) -> NotificationPublic:
    """Replace the e-mail list (and the webhooks, when `webhooks` is given; left
    out, they stay). A webhook sent back with its masked secret keeps it."""
    return _notifications(state).replace(body).public()
