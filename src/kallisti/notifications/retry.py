"""Retrying a delivery with exponential back-off and jitter."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["PermanentFailure", "RetryPolicy", "deliver_with_retries"]

logger = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """Raised by a delivery attempt that no retry can fix (e.g. HTTP 404)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based):
        exponential, capped, with jitter so that many deliveries do not retry in
        step."""
        ceiling = min(
            self.backoff_seconds * 2.0 ** (attempt - 1), self.backoff_max_seconds
        )
        return ceiling * random.uniform(0.5, 1.0)


async def deliver_with_retries(
    attempt: Callable[[], Awaitable[None]],
    policy: RetryPolicy,
    *,
    what: str,
    extra: dict[str, str],
) -> bool:
    """Run `attempt` until it succeeds, fails permanently or runs out of attempts.

    Returns True once delivered. Never raises (but lets cancellation through):
    a failed notification is logged, it never fails anything else.
    """
    for number in range(1, policy.max_attempts + 1):
        try:
            await attempt()
            return True
        except PermanentFailure as err:
            logger.error("%s failed permanently: %s", what, err, extra=extra)
            return False
        except Exception as err:
            if number == policy.max_attempts:
                logger.error(
                    "%s failed after %d attempts: %s", what, number, err, extra=extra
                )
                return False
            delay = policy.delay(number)
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2fs",
                what,
                number,
                policy.max_attempts,
                err,
                delay,
                extra=extra,
            )
            await asyncio.sleep(delay)
    return False
