"""Per-caller limit on starting trials (`KALLISTI_RATE_LIMIT_TRIALS`).

The count comes from the trials table itself (trials the caller started in
the window), so every API process shares one limit and a restart forgets
nothing. Two requests racing at the very edge may both pass: the limit is a
brake on runaway pipelines, not an exact quota.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from kallisti.auth.errors import RateLimited
from kallisti.store.limits import LimitRepository

__all__ = ["TrialRateLimit", "parse_rate"]

_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{0,6})\s*([a-z]+)\s*$")
_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip


def parse_rate(text: str) -> tuple[int, timedelta]:
    """`30/minute`, `100/hour`, `5/10s` → (count, window); raises `ValueError`."""
    match = _RATE.match(text.lower())
    if match is None or match.group(3) not in _UNITS or int(match.group(1)) < 1:
        raise ValueError(
            f"{text!r} is not a rate such as 30/minute (units: second, minute, "
            "hour, day)"
        )
    count, multiple, unit = match.groups()
    seconds = (int(multiple) if multiple else 1) * _UNITS[unit]
    if seconds < 1:
        raise ValueError(f"{text!r}: the window must be at least one second")
    return int(count), timedelta(seconds=seconds)


@dataclass(frozen=True)
class TrialRateLimit:
    """At most `count` trials per caller in any `window`."""

    count: int
    window: timedelta
    text: str

    @classmethod
    def from_setting(cls, text: str) -> TrialRateLimit | None:
        if not text.strip():
            return None
        count, window = parse_rate(text)
        return cls(count, window, text.strip())

    def check(self, limits: LimitRepository, user_id: str) -> None:
        """Raise `RateLimited` (with when to retry) once the caller is at the limit."""
        now = limits.now()
        started, oldest = limits.trials_started_since(user_id, now - self.window)
        if started < self.count:
            return
        retry = (oldest + self.window - now).total_seconds() if oldest else 1.0
        raise RateLimited(
            f"Trial rate limit reached ({self.text} per caller): "
            f"try again in {max(1, round(retry))} s.",
            retry,
        )
