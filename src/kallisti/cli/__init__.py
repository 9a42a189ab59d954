"""The `kallisti` command. One module per command group, each a thin shell over
the services the API uses; this module only assembles them."""

from __future__ import annotations

import typer

from kallisti import __version__
from kallisti.cli.audit import audit
from kallisti.cli.halt import halt, resume
from kallisti.cli.importer import import_kallisti
from kallisti.cli.modules import modules
from kallisti.cli.report import report
from kallisti.cli.revert import revert
from kallisti.cli.run import run
from kallisti.cli.serve import migrate, run_worker, serve
from kallisti.cli.token import token
from kallisti.cli.validate import validate

__all__ = ["app", "main"]

app = typer.Typer(
    help="Kallisti: chaos experiments as data, trials with an immutable record.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(serve)
app.command("worker")(run_worker)
app.command()(migrate)
app.command()(run)
app.command()(report)
app.command()(modules)
app.add_typer(token, name="token")
app.command()(halt)
app.command()(resume)
app.command()(revert)
app.add_typer(audit, name="audit")
app.command("import")(import_kallisti)
app.command()(validate)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
