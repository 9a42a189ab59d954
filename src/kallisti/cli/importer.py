"""`kallisti import`: bring a Kallisti 1.x database over."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer
from rich.markup import escape

from kallisti.cli._common import cli_actor, console, load_settings
from kallisti.domain.errors import InvalidInput
from kallisti.store import Store
from kallisti.store.kallisti_import import (
    KINDS,
    import_kallisti_database,
    masked_source,
    missing_driver,
    source_url,
)

__all__ = ["import_kallisti"]


def import_kallisti(
    source: Annotated[
        str,
        typer.Argument(
            help="The Kallisti database: its SQLite file, or a URL such as "
            "postgresql://user@host/kallisti or mysql://user@host/kallisti "
            "(MySQL needs `pip install 'kallisti[mysql]'`).",
            show_default=False,
        ),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(help="This project's database (default: KALLISTI_DATABASE_URL)."),
    ] = None,
) -> None:
    """Import experiments, schedules, notification settings and every trial
    (ids, times, statuses and records unchanged) from Kallisti 1.x. Running it
    again adds only what is new; each run is written to the audit trail. Exits
    1 when the source cannot be read or is not a Kallisti database."""
    settings = load_settings(database_url=database_url)
    shown = escape(masked_source(source))
    try:
        engine = sa.create_engine(source_url(source))
    except ModuleNotFoundError as err:
        console.print(
            f"[red]Cannot read {shown}:[/red] {escape(missing_driver(err) or str(err))}"
        )
        raise typer.Exit(1) from None
    except sa.exc.ArgumentError as err:
        console.print(f"[red]Cannot read {shown}:[/red] {escape(str(err))}")
        raise typer.Exit(1) from None
    store = Store(settings.database_url)
    try:
        store.migrate()
        summary = import_kallisti_database(
            engine, store, by=cli_actor(), source_label=masked_source(source)
        )
    except (InvalidInput, sa.exc.OperationalError, sa.exc.ArgumentError) as err:
        # The driver's message names the host and user, never the password.
        console.print(f"[red]Cannot import from {shown}:[/red] {escape(str(err))}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
        store.close()
    for kind in KINDS:
        found = summary.found.get(kind, 0)
        added = summary.added.get(kind, 0)
        console.print(f"{kind}: {found} found, {added} added")
    for experiment_id in summary.cannot_run:
        console.print(
            f"[yellow]experiment {experiment_id}[/yellow] was imported as stored, "
            "but its steps cannot run here (see `kallisti validate`)."
        )
