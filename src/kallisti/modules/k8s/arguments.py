"""Checks for action arguments that come from step data (JSON, possibly templated)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kallisti.domain.errors import InvalidArguments

__all__ = ["choice", "integer", "names"]


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """`value` as an int (an integral string or float is accepted); raises
    `InvalidArguments` naming the argument otherwise."""
    if isinstance(value, bool):
        raise InvalidArguments(f"`{name}` must be an integer, not {value!r}.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidArguments(
                f"`{name}` must be an integer, not {value!r}."
            ) from None
    if not isinstance(value, int):
        raise InvalidArguments(f"`{name}` must be an integer, not {value!r}.")
    if minimum is not None and value < minimum:
        raise InvalidArguments(f"`{name}` must be at least {minimum}, not {value}.")
    return value


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`; raises `InvalidArguments` otherwise."""
    options = tuple(allowed)
    if value not in options:
        raise InvalidArguments(
            f"`{name}` must be one of {', '.join(repr(o) for o in options)}, "
            f"not {value!r}."
        )
    return str(value)


def names(items: Iterable[Any]) -> list[str]:
    """The `metadata.name` of each client model in `items`."""
    return [str(item.metadata.name) for item in items]
