"""`kallisti run`: an experiment file run here, without a server (for CI)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from kallisti.cli._common import configure_logging, console, load_settings
from kallisti.domain.models import ExperimentCreate, TrialStatus
from kallisti.domain.record import SECTIONS, TrialRecord, result_lines
from kallisti.engine import StopSignal, TrialPlan

__all__ = ["run"]


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r}: use --param name=value")
        try:
            parameters[name] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[name] = raw
    return parameters


class _ConsoleRecorder:
    """Prints each new log line as the trial runs."""

    def __init__(self) -> None:
        self._printed: set[tuple[str, int, int]] = set()
        self.record: dict[str, Any] = {}

    def changed(self, record: TrialRecord) -> None:
        data = record.to_json()
        for section in SECTIONS:
            for index, entry in enumerate(data.get(section, [])):
                for number, line in enumerate(entry["logs"]):
                    key = (section, index, number)
                    if key not in self._printed:
                        self._printed.add(key)
                        label = f"{section}[{index}] {entry['step_name']}"
                        console.print(f"[bold]{label}[/bold] {line}", highlight=False)
        for number, line in enumerate(result_lines(data)):
            if ("result", 0, number) not in self._printed:
                self._printed.add(("result", 0, number))
                console.print(f"[bold]result[/bold] {line}", highlight=False)

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.changed(record)
        self.record = record.to_json()


def run(
    file: Annotated[Path, typer.Argument(help="Experiment JSON file.", exists=True)],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="name=value (JSON or text)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="Resolve targets and log what would happen; change nothing."),
    ] = False,
) -> None:
    """Run an experiment here, without a server (for CI pipelines).

    Shows each step as it runs, prints the final status and the record as JSON
    on stdout, and exits 0 only when the trial Succeeded.
    """
    from kallisti.service import build_engine

    configure_logging("WARNING")
    try:
        experiment = ExperimentCreate.model_validate_json(file.read_bytes())
    except ValidationError as err:
        console.print(f"[red]{file} is not a valid experiment:[/red]\n{err}")
        raise typer.Exit(2) from None
    plan = TrialPlan(
        trial_id=uuid.uuid4(),
        experiment_name=experiment.name,
        pre_steps=tuple(experiment.pre_steps),
        steps=tuple(experiment.steps),
        post_steps=tuple(experiment.post_steps),
        parameters={**experiment.parameters, **_parse_params(param or [])},
        dry_run=dry_run,
        guards=tuple(experiment.guards or ()),
        max_duration_seconds=experiment.max_duration_seconds,
    )
    engine = build_engine(load_settings())
    recorder = _ConsoleRecorder()

    async def execute() -> TrialStatus:
        stop = StopSignal()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.request, "interrupted (Ctrl-C)")
        loop.add_signal_handler(signal.SIGTERM, stop.request, "terminated (SIGTERM)")
        return await engine.run(plan, recorder, stop)

    console.print(
        f"Running [bold]{experiment.name}[/bold]" + (" (dry run)" if dry_run else "")
    )
    status = asyncio.run(execute())
    colour = "green" if status is TrialStatus.SUCCEEDED else "red"
    console.print(
        f"Trial [{colour}]{status.value}[/{colour}]{_reason(recorder.record)}"
    )
    typer.echo(
        json.dumps({"status": status.value, "trial_record": recorder.record}, indent=2)
    )
    raise typer.Exit(0 if status is TrialStatus.SUCCEEDED else 1)


def _reason(record: dict[str, Any]) -> str:
    """The trial's closing line, whole (it says why the trial ended)."""
    lines = result_lines(record)
    if not lines:
        return ""
    return ": " + lines[-1].split("] ", 1)[-1]
