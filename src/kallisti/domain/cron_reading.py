"""A cron expression read out in plain English, for people who do not read cron.

`describe_recurrence("30 9 * * 1-5", "Europe/London")` gives
"every weekday at 09:30, Europe/London". The reading covers what schedules are
written with (numbers, lists, ranges, steps, names, aliases); anything it
cannot phrase well is spelt out field by field rather than guessed at. The
pattern must already have passed `check_recurrence_pattern`.
"""

from __future__ import annotations

__all__ = ["describe_recurrence"]

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = {name[:3].lower(): index for index, name in enumerate(_DAYS)}
_MONTH_NAMES = {name[:3].lower(): index + 1 for index, name in enumerate(_MONTHS)}
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_WEEKDAYS = frozenset(range(1, 6))
_WEEKEND = frozenset({0, 6})


def _number(text: str, names: dict[str, int]) -> int:
    return names[text.lower()] if text.lower() in names else int(text)


def _values(field: str, low: int, high: int, names: dict[str, int]) -> list[int] | None:
    """The values a cron field selects, or None for `*` (every value)."""
    if field in ("*", "?"):
        return None
    selected: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step_text else start
        selected.update(range(start, end + 1, step))
    if names is _DAY_NAMES:
        selected = {7 % 7 if day == 7 else day for day in selected}
    return sorted(selected)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _step_of(field: str) -> int | None:
    """n for `*/n`, else None."""
    if field.startswith("*/") and field[2:].isdigit():
        return int(field[2:])
    return None


def _time_phrase(minute: str, hour: str) -> str:
    minutes = _values(minute, 0, 59, {})
    hours = _values(hour, 0, 23, {})
    if minutes is not None and hours is not None and len(minutes) * len(hours) <= 6:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        return "at " + _join(times)
    minute_step = _step_of(minute)
    if minutes is None:
        every = "every minute"
    elif minute_step is not None:
        every = f"every {minute_step} minutes"
    elif hours is None or len(hours) > 6:
        every = (
            "every hour"
            if minutes == [0]
            else "at minute " + _join([str(m) for m in minutes]) + " of every hour"
        )
    else:
        every = "at minute " + _join([str(m) for m in minutes])
    if hours is None:
        return every
    hour_step = _step_of(hour)
    if hour_step is not None:
        if minutes == [0]:
            return f"every {hour_step} hours, on the hour"
        return f"{every}, every {hour_step} hours"
    if hours == list(range(hours[0], hours[-1] + 1)) and len(hours) > 1:
        return f"{every}, between {hours[0]:02d}:00 and {hours[-1]:02d}:59"
    return f"{every}, during hour " + _join([f"{h:02d}" for h in hours])


def _weekday_phrase(days: list[int]) -> str:
    chosen = frozenset(days)
    if chosen == _WEEKDAYS:
        return "every weekday"
    if chosen == _WEEKEND:
        return "every Saturday and Sunday"
    if len(days) == 1:
        return f"every {_DAYS[days[0]]}"
    return "on " + _join([_DAYS[d] for d in days])


def _day_phrase(day_of_month: str, month: str, day_of_week: str) -> str:
    month_days = _values(day_of_month, 1, 31, {})
    months = _values(month, 1, 12, _MONTH_NAMES)
    week_days = _values(day_of_week, 0, 7, _DAY_NAMES)
    parts: list[str] = []
    if month_days is not None:
        numbers = _join([str(d) for d in month_days])
        plural = "s" if len(month_days) > 1 else ""
        parts.append(f"on day{plural} {numbers} of the month")
    if week_days is not None:
        parts.append(_weekday_phrase(week_days))
    # cron runs on either when both day fields are restricted.
    phrase = " or ".join(parts) if parts else "every day"
    if months is not None:
        phrase += " in " + _join([_MONTHS[m - 1] for m in months])
    return phrase


def describe_recurrence(pattern: str, timezone: str = "UTC") -> str:
    """Plain English for a valid cron pattern read in `timezone`.

    Falls back to naming each field when a field uses syntax outside the
    common forms (`L`, `W`, `#`), so the reading is never wrong, only plainer.
    """
    fields = _ALIASES.get(pattern.lower(), pattern).split()
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        days = _day_phrase(day_of_month, month, day_of_week)
        times = _time_phrase(minute, hour)
    except (ValueError, KeyError, IndexError):
        names = ("minute", "hour", "day of month", "month", "day of week")
        spelt = ", ".join(f"{n} {v}" for n, v in zip(names, fields, strict=True))
        return f"cron {spelt}, {timezone}"
    if times.startswith("at ") and ":" in times:
        return f"{days} {times}, {timezone}"
    if days == "every day":
        return f"{times}, {timezone}"
    return f"{times}, {days}, {timezone}"
