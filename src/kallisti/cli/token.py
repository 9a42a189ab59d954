"""`kallisti token create|list|revoke`: machine tokens for CI pipelines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from kallisti.auth.tokens import MachineTokens
from kallisti.cli._common import configure_logging, console, load_settings
from kallisti.store import Store

__all__ = ["token"]

token = typer.Typer(
    help="Machine tokens: bearer tokens with one role, for CI pipelines.",
    no_args_is_help=True,
)

_CLI_USER = "cli"


def _tokens() -> tuple[Store, MachineTokens]:
    store = Store(load_settings().database_url)
    store.migrate()
    return store, MachineTokens(store.tokens)


@token.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name unique among live tokens.")],
    role: Annotated[str, typer.Option(help="viewer, operator, editor or admin.")],
    expires: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d, 12h; omit: never.")
    ] = None,
) -> None:
    """Create a token and print it once (alone on the last line); only its hash
    is kept. Exits 2 on a bad option."""
    from kallisti.domain.errors import InvalidInput
    from kallisti.domain.tokens import MachineTokenCreate

    configure_logging("WARNING")
    try:
        request = MachineTokenCreate(name=name, role=role, expires=expires)  # type: ignore[arg-type]
    except ValidationError as err:
        fields = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        console.print(f"[red]Invalid option:[/red] {fields}")
        raise typer.Exit(2) from None
    store, tokens = _tokens()
    try:
        created = tokens.create(request, created_by=_CLI_USER)
    except InvalidInput as err:
        console.print(f"[red]Invalid option:[/red] --{err.field}: {err.reason}")
        raise typer.Exit(2) from None
    finally:
        store.close()
    expiry = created.expires_at.isoformat() if created.expires_at else "never"
    typer.echo(f"Token {created.name!r}: role {created.role}, expires {expiry}.")
    typer.echo("It is shown this once; only its hash is kept:")
    typer.echo(created.token)


@token.command("list")
def list_tokens(
    all_: Annotated[
        bool, typer.Option("--all", help="Include revoked tokens.")
    ] = False,
) -> None:
    """List tokens (never their secrets)."""
    configure_logging("WARNING")
    store, tokens = _tokens()
    try:
        records = tokens.list(include_revoked=all_)
    finally:
        store.close()
    typer.echo(f"{'NAME':<24} {'ROLE':<9} {'CREATED':<25} {'EXPIRES':<25} REVOKED")
    for record in records:
        created = _time(record.created_at, "")
        expires = _time(record.expires_at, "never")
        revoked = _time(record.revoked_at, "-")
        typer.echo(
            f"{record.name:<24} {record.role:<9} {created:<25} {expires:<25} {revoked}"
        )


def _time(value: datetime | None, missing: str) -> str:
    return missing if value is None else value.isoformat(timespec="seconds")


@token.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token at once. Exits 1 when no live token has that name."""
    from kallisti.domain.errors import NotFound

    configure_logging("WARNING")
    store, tokens = _tokens()
    try:
        tokens.revoke(name)
    except NotFound:
        console.print(f"[red]No live token is named {name!r}.[/red]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    typer.echo(f"Revoked token {name!r}.")
