"""Times given in query strings: aware, and representable in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

__all__ = ["UtcTime"]


def _utc(value: datetime) -> datetime:
    # 0001-01-01T00:00+14:00 and 9999-12-31T23:59:59-14:00 parse, but have no
    # UTC form: the database driver would raise OverflowError (a 500) while
    # converting them.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
