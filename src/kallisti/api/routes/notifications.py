"""/notification: who is told when a trial completes (e-mails, webhooks)."""

from __future__ import annotations

from fastapi import APIRouter

from kallisti.api.deps import Admin, State, Viewer
from kallisti.domain.notifications import NotificationPublic, NotificationUpdate

router = APIRouter(prefix="/notification", tags=["notification"])


@router.get("")
def read_notification(state: State, _: Viewer) -> NotificationPublic:
    """The e-mail addresses and webhooks notified when a trial completes;
    webhook secrets are shown masked."""
    return state.store.notifications.get().public()


@router.put("")
def replace_notification(
    body: NotificationUpdate, state: State, _: Admin
) -> NotificationPublic:
    """Replace the e-mail list (and the webhooks, when `webhooks` is given; left
    out, they stay). A webhook sent back with its masked secret keeps it."""
    return state.store.notifications.replace(body).public()
