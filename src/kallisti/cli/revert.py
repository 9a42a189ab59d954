"""`kallisti revert TRIAL`: undo the faults a finished trial left in place, on
KALLISTI_DATABASE_URL, with the worker's access to the targets."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from kallisti.cli._common import (
    configure_logging,
    console,
    existing_database_url,
    load_settings,
)
from kallisti.domain.errors import KallistiError

__all__ = ["revert"]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid
        return "cli"


def revert(
    trial: Annotated[str, typer.Argument(help="The trial's id.")],
) -> None:
    """Undo what the trial's fault ledger says is still in place; print what was
    reverted and what failed (JSON). Exit 1 when a fault is left in place."""
    from kallisti.safety.ledger import FaultUndoer, revert_trial
    from kallisti.store import Store
    from kallisti.store.audit import AuditActor, current_actor

    configure_logging("WARNING")
    settings = load_settings()
    store = Store(existing_database_url(settings))
    current_actor.set(AuditActor(_actor(), None))
    try:
        store.migrate()
        answer = revert_trial(store, FaultUndoer.from_settings(settings), trial)
    except KallistiError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    typer.echo(json.dumps(answer.model_dump(), indent=2))
    if answer.failed:
        raise typer.Exit(1)
