"""Expectations: checks on an action's result, written as data in a step's `expect`.

An entry is ``{"operator": <op>, <field>: <expected>}`` with exactly one field:
``value`` compares a scalar result itself; any other key is a dotted path into a
dict result (``status_code``, ``response.data.id``); a list item is reached by its
index, written ``items.0`` or, as Kallisti's JSONPath keys are, ``items[0]``.
Numbers given as strings compare as numbers, since metrics APIs answer in strings.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import regex

from kallisti.domain.errors import ExpectationFailed, InvalidInput

__all__ = ["OPERATORS", "Expectation", "check_all", "parse_expectations"]

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
OPERATORS = (*_COMPARISONS, "regex")
_MISSING = object()
# A pattern such as `(a+)+$` can take exponential time on the worker's event
# loop; the `regex` engine can be told to give up.
_REGEX_TIMEOUT_SECONDS = 1.0
_INDEX = re.compile(r"\[(-?\d+)\]")


def _path_parts(field: str) -> list[str]:
    """Split ``response.items[0].id`` (or ``response.items.0.id``) into its parts."""
    return _INDEX.sub(r".\1", field).removeprefix(".").split(".")


@dataclass(frozen=True)
class Expectation:
    """One parsed `expect` entry."""

    operator: str
    field: str
    expected: Any

    @classmethod
    def parse(cls, raw: object) -> Expectation:
        """Parse one entry; raises `InvalidInput` naming what is wrong."""
        if not isinstance(raw, Mapping):
            raise InvalidInput("expect", "each entry must be an object")
        op = raw.get("operator")
        if op not in OPERATORS:
            raise InvalidInput(
                "expect.operator",
                f"{op!r} is not an operator; use one of {', '.join(OPERATORS)}",
            )
        fields = [key for key in raw if key != "operator"]
        if len(fields) != 1:
            raise InvalidInput(
                "expect",
                "each entry needs exactly one field besides `operator` (`value` or "
                f"a dotted path such as `status_code`), found {fields or 'none'}",
            )
        field = str(fields[0])
        if not field or any(not part for part in _path_parts(field)):
            raise InvalidInput("expect", f"{field!r} is not a valid dotted path")
        expected = raw[field]
        if op == "regex":
            try:
                re.compile(str(expected))
            except (re.error, OverflowError) as err:  # Overflow: a huge {n}
                raise InvalidInput(
                    f"expect.{field}", f"invalid regular expression: {err}"
                ) from None
            except RecursionError:
                raise InvalidInput(
                    f"expect.{field}", "invalid regular expression: nested too deeply"
                ) from None
        return cls(operator=op, field=field, expected=expected)

    def check(self, result: Any) -> None:
        """Return when the result satisfies this entry; raise `ExpectationFailed`."""
        actual = self._resolve(result)
        if actual is _MISSING:
            raise ExpectationFailed(
                f"Expectation failed: the result has no field {self.field!r}."
            )
        if not self._holds(actual):
            raise ExpectationFailed(
                f"Expectation failed: {self.field} {self.operator} {self.expected!r}"
                f" does not hold (actual: {actual!r})."
            )

    def _resolve(self, result: Any) -> Any:
        if self.field == "value" and not isinstance(result, Mapping):
            return result
        current = result
        for part in _path_parts(self.field):
            if isinstance(current, Mapping):
                current = current.get(part, _MISSING)
            elif isinstance(current, Sequence) and not isinstance(current, str):
                try:
                    current = current[int(part)]
                except (ValueError, IndexError):
                    return _MISSING
            else:
                return _MISSING
            if current is _MISSING:
                return _MISSING
        return current

    def _holds(self, actual: Any) -> bool:
        if self.operator == "regex":
            try:
                found = regex.search(
                    str(self.expected), _as_text(actual), timeout=_REGEX_TIMEOUT_SECONDS
                )
            except TimeoutError:
                raise ExpectationFailed(
                    f"Expectation failed: regex {self.expected!r} took longer than "
                    f"{_REGEX_TIMEOUT_SECONDS:g} s on the result; simplify the pattern."
                ) from None
            return found is not None
        compare = _COMPARISONS[self.operator]
        left, right = _as_number(actual), _as_number(self.expected)
        if left is not None and right is not None:
            return compare(left, right)
        try:
            return bool(compare(actual, self.expected))
        except TypeError:
            raise ExpectationFailed(
                f"Expectation failed: cannot compare {actual!r} with "
                f"{self.expected!r} using {self.operator!r}."
            ) from None


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # NaN and infinities compare as floats: Decimal refuses to order NaN.
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def parse_expectations(raw: object) -> list[Expectation]:
    """Parse a step's `expect` list; raises `InvalidInput`."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("expect", "must be a list of objects")
    return [Expectation.parse(entry) for entry in raw]


def check_all(expectations: Sequence[Expectation], result: Any) -> None:
    """Raise `ExpectationFailed` for the first entry that does not hold."""
    for expectation in expectations:
        expectation.check(result)
