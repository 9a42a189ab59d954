"""What every command shares: the console, logging set-up and settings."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console

from kallisti.log_safety import install_safe_logging
from kallisti.settings import Settings

__all__ = ["configure_logging", "console", "load_settings", "logger"]

console = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("kallisti")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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
