"""`kallisti modules [NAMESPACE]`: the installed namespaces and their actions."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kallisti.cli._common import configure_logging, console, load_settings

__all__ = ["modules"]


def modules(
    namespace: Annotated[
        str | None, typer.Argument(help="Only this namespace, with each action's doc.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The catalogue as JSON (as the API gives).")
    ] = False,
) -> None:
    """List every installed namespace and its actions, with their arguments.

    Reads the same module map as the worker (entry points and
    KALLISTI_MODULE_MAP). Exits 1 when NAMESPACE is not installed.
    """
    from kallisti.domain.errors import UnknownModuleName
    from kallisti.modules import ModuleRegistry
    from kallisti.modules.catalogue import build_catalogue, describe_namespace

    configure_logging("WARNING")
    registry = ModuleRegistry.discover(load_settings().module_map)
    if namespace is None:
        catalogue = build_catalogue(registry)
    else:
        try:
            catalogue = [describe_namespace(registry, namespace)]
        except UnknownModuleName as err:
            console.print(f"[red]{err}[/red]")
            raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps([n.to_json() for n in catalogue], indent=2) + "\n")
        return
    out = Console(soft_wrap=True)  # stdout; `console` is stderr, for messages
    for info in catalogue:
        table = Table(title=f"{info.name} ({info.module})", title_justify="left")
        table.add_column("action")
        table.add_column("probe")
        table.add_column("arguments (* required)")
        if namespace is not None:
            table.add_column("doc")
        for action in info.actions:
            arguments = ", ".join(
                f"{a.name}*" if a.required else a.name for a in action.arguments
            )
            row = [action.name, "yes" if action.probe else "", arguments]
            if namespace is not None:
                row.append(" ".join(action.doc.split("\n\n", 1)[0].split()))
            table.add_row(*row)
        if info.error is not None:
            table.caption = f"cannot be imported: {info.error}"
        out.print(table)
