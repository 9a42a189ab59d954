"""`kallisti report`: a report of stored trials, written to stdout."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from typing import Annotated

import typer

from kallisti.cli._common import (
    configure_logging,
    console,
    existing_database_url,
    load_settings,
)
from kallisti.domain.models import TrialStatus

__all__ = ["report"]


def report(
    trial: Annotated[
        str | None, typer.Option(help="Only this trial (and its experiment).")
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", help="xml (Kallisti's), junit or html.")
    ] = "xml",
    experiment: Annotated[
        str | None, typer.Option(help="Only this experiment's trials.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only trials in this status.")
    ] = None,
    created_after: Annotated[
        str | None,
        typer.Option(help="Only trials created at or after (e.g. 2024-05-03T09:00Z)."),
    ] = None,
    created_before: Annotated[
        str | None,
        typer.Option(help="Only trials created before (e.g. 2024-05-04T00:00Z)."),
    ] = None,
) -> None:
    """Write a report of trials to stdout, read from KALLISTI_DATABASE_URL.

    Exits 2 on a bad option and 1 when the trial or experiment is unknown.
    """
    from kallisti.domain.errors import NotFound
    from kallisti.domain.record import utc_now
    from kallisti.reports import ReportFilter, ReportFormat, build_report, render_report
    from kallisti.store import Store

    configure_logging("WARNING")
    settings = load_settings()
    try:
        where = ReportFilter(
            trial_id=None if trial is None else uuid.UUID(trial),
            experiment_id=None if experiment is None else uuid.UUID(experiment),
            status=None if status is None else TrialStatus(status),
            created_after=_time("--created-after", created_after),
            created_before=_time("--created-before", created_before),
        )
        chosen = ReportFormat(format_)
    except ValueError as err:
        console.print(f"[red]Invalid option:[/red] {err}")
        raise typer.Exit(2) from None
    store = Store(existing_database_url(settings))
    try:
        document, _ = render_report(
            build_report(
                store.engine, where, title=settings.report_header_title, now=utc_now()
            ),
            chosen,
        )
    except NotFound as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    sys.stdout.write(document)


def _time(option: str, value: str | None) -> datetime | None:
    """Read a time as the API's `created_after`/`created_before` does: ISO 8601
    with its offset, representable in UTC; raises `ValueError` naming `option`."""
    from pydantic import TypeAdapter, ValidationError

    from kallisti.api.times import UtcTime

    if value is None:
        return None
    try:
        return TypeAdapter(UtcTime).validate_python(value)
    except ValidationError as err:
        reason = err.errors()[0]["msg"]
        raise ValueError(f"{option} {value!r}: {reason}") from None
