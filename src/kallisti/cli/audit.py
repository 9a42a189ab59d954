"""`kallisti audit verify`: check the audit trail's hash chain."""

from __future__ import annotations

import json

import typer

from kallisti.cli._common import (
    configure_logging,
    existing_database_url,
    load_settings,
)

__all__ = ["audit"]

audit = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


@audit.command("verify")
def verify() -> None:
    """Walk the chain in KALLISTI_DATABASE_URL and print the result as JSON.

    Exits 0 when every entry holds, 1 at the first edited, reordered or
    deleted entry.
    """
    from kallisti.store import Store

    configure_logging("WARNING")
    store = Store(existing_database_url(load_settings()))
    try:
        report = store.audit.verify()
    finally:
        store.close()
    typer.echo(json.dumps(report.to_json()))
    if not report.ok:
        raise typer.Exit(1)
