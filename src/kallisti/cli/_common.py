"""What every command shares: the console, logging set-up and settings."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from kallisti.log_safety import install_safe_logging
from kallisti.settings import Settings

__all__ = [
    "cli_actor",
    "configure_logging",
    "console",
    "existing_database_url",
    "load_settings",
    "logger",
    "run_event_loop",
]

_T = TypeVar("_T")

console = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("kallisti")


class _TrialFormatter(logging.Formatter):
    """Names the trial a line is about (its `trial_id` extra), so that the
    lines of concurrent trials can be told apart."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        trial_id = getattr(record, "trial_id", None)
        return text if trial_id is None else f"{text} [trial {trial_id}]"


def cli_actor() -> str:
    """Who runs this command, as the audit trail names them (`cli:<user>`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid
        return "cli"


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _TrialFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])
    install_safe_logging()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the command's options laid over them.

    Exits 2 with the reason when the configuration is invalid.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        console.print(f"[red]Invalid configuration:[/red]\n{err}")
        raise typer.Exit(2) from None


def existing_database_url(settings: Settings) -> str:
    """The database URL of a command that only reads or changes what is there.

    A SQLite file that does not exist would be created empty; exit 1 with one
    line naming the file and how to point at another instead.
    """
    url = settings.database_url
    if settings.is_sqlite:
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not Path(path).exists():
            console.print(
                f"[red]No Kallisti database at {Path(path).resolve()}[/red] "
                "(from KALLISTI_DATABASE_URL, default sqlite:///kallisti.db in the "
                "current folder): run this where `kallisti serve` ran, or set "
                "KALLISTI_DATABASE_URL=sqlite:////path/to/kallisti.db."
            )
            raise typer.Exit(1)
    return url


def run_event_loop(main: Coroutine[Any, Any, _T]) -> _T:
    """Run `main` to completion on uvloop where it is installed (it serves HTTP
    and wakes tasks at a fraction of asyncio's cost), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
