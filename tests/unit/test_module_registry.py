"""The module registry: `do` resolves through the namespace map to public actions."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Protocol

import pytest

from kallisti.domain.errors import CouldNotFindFunction, UnknownModuleName
from kallisti.modules import ModuleRegistry
from kallisti.modules import cm as builtin_cm


class MakeModule(Protocol):
    def __call__(
        self, source: str, *, submodules: dict[str, str] | None = None
    ) -> str: ...


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeModule:
    """Write a throwaway module (or package) to an import path; return its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(source: str, *, submodules: dict[str, str] | None = None) -> str:
        name = f"registry_test_{uuid.uuid4().hex[:10]}"
        if submodules is None:
            (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        else:
            package = tmp_path / name
            package.mkdir()
            (package / "__init__.py").write_text(textwrap.dedent(source))
            for sub, sub_source in submodules.items():
                (package / f"{sub}.py").write_text(textwrap.dedent(sub_source))
        return name

    return make


LISTED_MODULE = """
    import json
    from os import getcwd

    __all__ = ["action", "_private_but_listed", "CONSTANT", "Thing", "json"]

    CONSTANT = 3


    class Thing:
        pass


    def action(*, x: int) -> int:
        return x


    def not_listed() -> str:
        return "hidden"


    def _private_but_listed() -> str:
        return "hidden"
"""


def test_discover_finds_the_builtin_cm_module_through_its_entry_point() -> None:
    registry = ModuleRegistry.discover()

    assert registry.namespaces["cm"] == "kallisti.modules.cm"
    action = registry.resolve("cm.http_probe")
    assert action.function is builtin_cm.http_probe
    assert action.is_async


def test_a_listed_public_function_is_an_action_with_its_signature(
    make_module: MakeModule,
) -> None:
    registry = ModuleRegistry({"demo": make_module(LISTED_MODULE)})

    action = registry.resolve("demo.action")

    assert action.do == "demo.action"
    assert list(action.signature.parameters) == ["x"]
    assert action.accepts("x") and not action.accepts("credentials")
    assert not action.is_async


@pytest.mark.parametrize(
    "action",
    [
        "not_listed",  # public, but not in __all__
        "getcwd",  # an imported helper
        "_private_but_listed",  # private even when listed
        "CONSTANT",  # not callable
        "Thing",  # a class is no action
        "json",  # a module is no action
        "__init__",
        "action.__call__",
    ],
)
def test_names_that_are_not_listed_public_functions_cannot_be_reached(
    make_module: MakeModule, action: str
) -> None:
    registry = ModuleRegistry({"demo": make_module(LISTED_MODULE)})

    with pytest.raises(CouldNotFindFunction) as caught:
        registry.resolve(f"demo.{action}")

    assert str(caught.value) == (
        f"Could not find function 'demo.{action}': module "
        f"{registry.namespaces['demo']} has no action {action!r}."
    )


def test_a_module_without_all_exposes_no_imported_helper(
    make_module: MakeModule,
) -> None:
    name = make_module(
        """
        from subprocess import run


        def action() -> None:
            pass
        """
    )
    registry = ModuleRegistry({"loose": name})

    with pytest.raises(CouldNotFindFunction):
        registry.resolve("loose.run")


def test_a_dotted_action_walks_through_listed_submodules(
    make_module: MakeModule,
) -> None:
    name = make_module(
        """
        from . import ec2, hidden

        __all__ = ["ec2"]
        """,
        submodules={
            "ec2": """
                __all__ = ["stop_instance"]


                def stop_instance(*, instance_id: str) -> str:
                    return instance_id


                def helper() -> None:
                    pass
            """,
            "hidden": """
                __all__ = ["secret_action"]


                def secret_action() -> None:
                    pass
            """,
        },
    )
    registry = ModuleRegistry({"aws": name})

    assert registry.resolve("aws.ec2.stop_instance").function.__name__ == (
        "stop_instance"
    )
    for unreachable in ("aws.ec2.helper", "aws.hidden.secret_action", "aws.ec2"):
        with pytest.raises(CouldNotFindFunction):
            registry.resolve(unreachable)


def test_actions_are_also_found_in_the_modules_named_by_actions_modules(
    make_module: MakeModule,
) -> None:
    helpers = make_module(
        """
        __all__ = ["drain_node"]


        def drain_node(*, name: str) -> str:
            return name
        """
    )
    name = make_module(f"__all__ = []\n__actions_modules__ = [{helpers!r}]\n")
    registry = ModuleRegistry({"k": name})

    assert registry.resolve("k.drain_node").function.__name__ == "drain_node"


def test_the_settings_map_overrides_an_entry_point_namespace(
    make_module: MakeModule,
) -> None:
    name = make_module(
        """
        __all__ = ["http_probe"]


        def http_probe(*, url: str) -> str:
            return "overridden"
        """
    )

    registry = ModuleRegistry.discover({"cm": name})

    assert registry.namespaces["cm"] == name
    assert registry.resolve("cm.http_probe").function(url="x") == "overridden"
    with pytest.raises(CouldNotFindFunction):
        registry.resolve("cm.wait")


def test_an_unknown_namespace_names_the_registered_ones() -> None:
    registry = ModuleRegistry({"cm": "kallisti.modules.cm", "aws": "nowhere"})

    with pytest.raises(UnknownModuleName) as caught:
        registry.resolve("gcp.stop_vm")

    assert str(caught.value) == (
        "Unknown module name 'gcp'; registered namespaces: aws, cm."
    )


def test_a_namespace_whose_module_cannot_be_imported_is_an_unknown_module() -> None:
    registry = ModuleRegistry({"ghost": "kallisti_no_such_module_anywhere"})

    with pytest.raises(UnknownModuleName, match="cannot be imported"):
        registry.resolve("ghost.act")
