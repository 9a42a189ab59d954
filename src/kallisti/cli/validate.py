"""`kallisti validate FILE`: check an experiment file before it reaches a
trial (for CI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from kallisti.cli._common import console, load_settings
from kallisti.domain.models import ExperimentCreate
from kallisti.modules.checks import Checks

__all__ = ["validate"]


def validate(
    file: Annotated[
        Path, typer.Argument(help="Experiment JSON file.", exists=True, dir_okay=False)
    ],
) -> None:
    """Check an experiment as `POST /experiment` would, then each step: its
    action resolves, `where` fits the action's arguments, templates have values,
    credential types are known. Exits 1 on any problem, 0 when none."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
        experiment = ExperimentCreate.model_validate(body)
    except (ValueError, ValidationError) as err:
        console.print(f"[red]{file}: not a valid experiment:[/red] {err}")
        raise typer.Exit(1) from None
    warnings = Checks(load_settings()).check(experiment.model_dump(mode="json"))
    for warning in warnings:
        fix = f" ({warning.fix})" if warning.fix else ""
        console.print(f"{file}: {warning.field}: {warning.message}{fix}")
    if warnings:
        raise typer.Exit(1)
    console.print(f"{file}: no problems found.")
