"""`kallisti report`: a report of stored trials, written to stdout."""

from __future__ import annotations

import sys
import uuid
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
