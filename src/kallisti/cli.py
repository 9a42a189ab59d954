"""The `kallisti` command: serve, worker, migrate, run."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from kallisti import __version__
from kallisti.domain.models import ExperimentCreate, TrialStatus
from kallisti.domain.record import SECTIONS, TrialRecord
from kallisti.engine import StopSignal, TrialPlan
from kallisti.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    help="Kallisti: chaos experiments as data, trials with an immutable record.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("kallisti")


def _configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        console.print(f"[red]Invalid configuration:[/red]\n{err}")
        raise typer.Exit(2) from None


def _warn_open_access() -> None:
    logger.warning(
        "ACCESS CONTROL IS OFF: anyone who can reach this port can run chaos "
        "with this service's credentials. Bind to 127.0.0.1 or configure "
        "authentication before exposing it."
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process.")] = True,
) -> None:
    """Migrate the database, then serve the API (and a worker) until stopped."""
    import uvicorn

    from kallisti.service import build_service

    _configure_logging()
    settings = _settings(host=host, port=port, run_worker=worker)
    service = build_service(settings)
    service.store.migrate()
    _warn_open_access()

    async def run() -> None:
        server = uvicorn.Server(
            uvicorn.Config(
                service.app,
                host=settings.host,
                port=settings.port,
                log_level="info",
                access_log=False,
            )
        )
        shutdown = asyncio.Event()
        worker_task = (
            asyncio.create_task(service.worker.run(shutdown))
            if settings.run_worker
            else None
        )
        try:
            await server.serve()
        finally:
            shutdown.set()
            if worker_task is not None:
                await worker_task
            service.store.close()

    asyncio.run(run())


@app.command("worker")
def run_worker() -> None:
    """Run a standalone worker against KALLISTI_DATABASE_URL until SIGTERM/SIGINT.

    On shutdown the trials it runs are stopped: their post steps run first.
    """
    from kallisti.service import build_engine
    from kallisti.store import Store
    from kallisti.worker import Worker

    _configure_logging()
    settings = _settings()
    store = Store(settings.database_url)
    store.migrate()
    worker = Worker(settings, store, build_engine(settings))

    async def run() -> None:
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, shutdown.set)
        await worker.run(shutdown)

    try:
        asyncio.run(run())
    finally:
        store.close()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run from several hosts)."""
    from kallisti.store import Store

    _configure_logging()
    settings = _settings()
    store = Store(settings.database_url)
    store.migrate()
    store.close()
    console.print("Database is up to date.")


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
        for number, line in enumerate(data.get("result", [])):
            if ("result", 0, number) not in self._printed:
                self._printed.add(("result", 0, number))
                console.print(f"[bold]result[/bold] {line}", highlight=False)

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.changed(record)
        self.record = record.to_json()


@app.command()
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

    _configure_logging("WARNING")
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
    )
    engine = build_engine(_settings())
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
    console.print(f"Trial [{colour}]{status.value}[/{colour}]")
    typer.echo(
        json.dumps({"status": status.value, "trial_record": recorder.record}, indent=2)
    )
    raise typer.Exit(0 if status is TrialStatus.SUCCEEDED else 1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()


@app.command()
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

    _configure_logging("WARNING")
    settings = _settings()
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
    store = Store(settings.database_url)
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
