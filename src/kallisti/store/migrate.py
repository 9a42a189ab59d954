"""Running the Alembic migrations from code (`kallisti migrate`, `kallisti serve`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from kallisti.store.db import WRITE_OPTION

__all__ = ["alembic_config", "upgrade_to_head"]

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do; it only has to be the same for every Kallisti process.
_MIGRATION_LOCK_ID = 4_857_412


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration in one transaction.

    On PostgreSQL an advisory lock makes concurrent starts wait for each other
    instead of racing; SQLite's BEGIN IMMEDIATE does the same.
    """
    config = alembic_config()
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
