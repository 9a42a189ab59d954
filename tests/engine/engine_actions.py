"""A small action module the engine tests register under the `t` namespace."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from kallisti.credentials import Credential, EnvVarUsernamePasswordCredential
from kallisti.modules.context import StepContext

__all__ = [
    "blocking_echo",
    "echo",
    "fail",
    "greet",
    "log_lines",
    "returns_nothing",
    "reveal_credentials",
    "sleep",
    "slow_logger",
    "winds_down_slowly",
]

# Set once `slow_logger` has handed its late line to the step context.
LATE_LINE_LOGGED = threading.Event()

# Reached only through this log: a test reads it to see which steps ran.
CALLS: list[str] = []


async def echo(*, value: Any) -> Any:
    CALLS.append(f"echo:{value}")
    return value


def blocking_echo(*, value: Any) -> Any:
    CALLS.append(f"blocking_echo:{value}")
    return value


async def returns_nothing() -> None:
    CALLS.append("returns_nothing")


async def fail(*, message: str = "boom") -> None:
    CALLS.append(f"fail:{message}")
    raise RuntimeError(message)


async def sleep(*, seconds: float) -> str:
    CALLS.append(f"sleep:{seconds}")
    await asyncio.sleep(seconds)
    return "slept"


async def greet(*, name: str, greeting: str = "Hello") -> str:
    return f"{greeting}, {name}!"


async def log_lines(*, count: int, step_context: StepContext) -> int:
    for index in range(count):
        step_context.log(f"line {index}")
    return count


async def reveal_credentials(*, credentials: Credential, note: str = "") -> Any:
    """Behaves like a careless driver: it echoes its secret back."""
    if isinstance(credentials, EnvVarUsernamePasswordCredential):
        return {
            "user": credentials.username,
            "echo": credentials.password,
            "note": note,
        }
    return {"echo": credentials.secrets()[0], "note": note}


def slow_logger(*, seconds: float, step_context: StepContext) -> None:
    """A blocking driver that logs after its step may have been abandoned."""
    time.sleep(seconds)
    step_context.log("late line")
    LATE_LINE_LOGGED.set()


async def winds_down_slowly(*, seconds: float) -> None:
    """Like a driver that undoes its half-done work when it is cancelled."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        CALLS.append("winding down")
        await asyncio.sleep(0.2)
        CALLS.append("wound down")
        raise


def _private() -> str:
    return "private"
