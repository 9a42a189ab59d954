"""A trial's longest run: past it, the trial is stopped (`max_duration`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kallisti.domain.safety import StopCause

__all__ = ["effective_max_duration", "stop_after"]


def effective_max_duration(*limits: float | None) -> float | None:
    """The tightest of the limits given (trial, experiment, service), if any."""
    given = [limit for limit in limits if limit is not None]
    return min(given) if given else None


async def stop_after(seconds: float, trip: Callable[[str, str], None]) -> None:
    """Trip the stop once `seconds` have passed (cancel this task to disarm)."""
    await asyncio.sleep(seconds)
    trip(
        f"the trial ran past its maximum duration of {seconds:g} seconds",
        StopCause.MAX_DURATION.value,
    )
