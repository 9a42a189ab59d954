"""Notifications of completed trials (e-mail, webhooks, observers) and the
pluggable trial-creation hooks."""

from kallisti.notifications.messages import TRIAL_COMPLETED, build_email, build_payload
from kallisti.notifications.notifier import TrialNotifier
from kallisti.notifications.plugins import (
    TrialCreationHooks,
    TrialObservers,
    load_object,
)
from kallisti.notifications.retry import RetryPolicy
from kallisti.notifications.webhooks import SIGNATURE_HEADER, sign

__all__ = [
    "SIGNATURE_HEADER",
    "TRIAL_COMPLETED",
    "RetryPolicy",
    "TrialCreationHooks",
    "TrialNotifier",
    "TrialObservers",
    "build_email",
    "build_payload",
    "load_object",
    "sign",
]
