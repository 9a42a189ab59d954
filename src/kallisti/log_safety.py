"""What the service's own log never holds: URL secrets and endless lines.

The HTTP client logs each request's URL at INFO (`user:pass@`, `?token=`), and
a failing step may quote a 20 MB body; every line the service writes passes
through `SafeLogFilter` first.
"""

from __future__ import annotations

import logging

from kallisti.domain.limits import capped
from kallisti.domain.secrets import mask_url_secrets

__all__ = ["SafeLogFilter", "install_safe_logging"]


class SafeLogFilter(logging.Filter):
    """Masks URL secrets in a record's message and caps its length."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report
            return True
        safe = capped(mask_url_secrets(message))
        if safe != message:
            record.msg, record.args = safe, None
        return True


def install_safe_logging() -> None:
    """Put the filter on the root handlers and the HTTP client's loggers, and
    keep the HTTP client's per-request INFO lines out (idempotent).

    A step's URL may carry a secret only its trial knows (`?t={{ token }}`):
    the trial record masks it, but a process-wide log line cannot tell it
    apart, so the client's request lines are not written at all.
    """
    for name in ("httpx", "httpcore"):
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    targets: list[logging.Filterer] = [
        *logging.getLogger().handlers,
        logging.getLogger("httpx"),
        logging.getLogger("httpcore"),
    ]
    for target in targets:
        if not any(isinstance(f, SafeLogFilter) for f in target.filters):
            target.addFilter(SafeLogFilter())
