"""`kallisti halt`, `kallisti resume`: the halt switch, on KALLISTI_DATABASE_URL."""

from __future__ import annotations

from typing import Annotated

import typer

from kallisti.cli._common import (
    cli_actor,
    configure_logging,
    console,
    existing_database_url,
    load_settings,
)

__all__ = ["halt", "resume"]


def halt(
    reason: Annotated[str, typer.Option(help="Why chaos is halted.")],
) -> None:
    """Stop every running trial (post steps run) and refuse new ones until
    `kallisti resume`."""
    from kallisti.store import Store

    configure_logging("WARNING")
    if not reason.strip():
        console.print("[red]--reason must say why[/red]")
        raise typer.Exit(2)
    store = Store(existing_database_url(load_settings()))
    try:
        store.migrate()
        switch = store.safety.halt(reason.strip(), by=cli_actor())
    finally:
        store.close()
    console.print(f"Chaos halted by {switch.by}: {switch.reason}")


def resume() -> None:
    """Lift the halt switch: trials may start again."""
    from kallisti.store import Store

    configure_logging("WARNING")
    store = Store(existing_database_url(load_settings()))
    try:
        store.migrate()
        store.safety.resume()
    finally:
        store.close()
    console.print("Chaos resumed: trials may start again.")
