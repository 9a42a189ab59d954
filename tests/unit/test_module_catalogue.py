"""The catalogue: namespaces and actions read from the registry and signatures."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from kallisti.domain.errors import UnknownModuleName
from kallisti.modules import ModuleRegistry
from kallisti.modules.catalogue import build_catalogue, describe_namespace

PACKAGE = '''
from __future__ import annotations

from kallisti.modules.context import StepContext, read_only

from . import extra

__all__ = ["change", "look", "extra", "CONSTANT"]
__actions_modules__ = [__name__ + ".more"]

CONSTANT = 1


def change(*, target: str, count: int = 2, tags: list[str] | None = None,
           step_context: StepContext) -> None:
    """Change `target`.

    More words.
    """


@read_only
def look(*, target: str, when=("now",)) -> dict[str, int]:
    """Look at `target`."""
    return {}
'''

EXTRA = """
__all__ = ["deeper"]


def deeper(x: float = 1.5) -> None:
    pass
"""

MORE = '''
__all__ = ["look", "elsewhere"]


def look() -> None:
    """Shadowed by the package's own `look`."""


def elsewhere(**anything) -> None:
    pass
'''


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"catalogue_test_{uuid.uuid4().hex[:10]}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    (package / "extra.py").write_text(textwrap.dedent(EXTRA))
    (package / "more.py").write_text(textwrap.dedent(MORE))
    return name


def test_a_namespace_lists_listed_actions_submodule_paths_and_actions_modules(
    demo: str,
) -> None:
    info = describe_namespace(ModuleRegistry({"demo": demo}), "demo")

    assert info.module == demo
    assert [a.name for a in info.actions] == [
        "change",
        "elsewhere",
        "extra.deeper",
        "look",
    ]
    look = info.action("look")
    assert look is not None and look.doc == "Look at `target`."


def test_arguments_come_from_the_signature_without_the_step_context(demo: str) -> None:
    info = describe_namespace(ModuleRegistry({"demo": demo}), "demo")

    change = info.action("change")
    assert change is not None
    assert change.to_json() == {
        "name": "change",
        "doc": "Change `target`.\n\nMore words.",
        "probe": False,
        "arguments": [
            {"name": "target", "type": "str", "default": None, "required": True},
            {"name": "count", "type": "int", "default": 2, "required": False},
            {
                "name": "tags",
                "type": "list[str] | None",
                "default": None,
                "required": False,
            },
        ],
    }
    look = info.action("look")
    assert look is not None and look.probe
    assert look.argument("when") is not None
    assert look.to_json()["arguments"][1] == {
        "name": "when",
        "type": "any",
        "default": ["now"],
        "required": False,
    }
    deeper = info.action("extra.deeper")
    assert deeper is not None and deeper.arguments[0].type == "float"
    elsewhere = info.action("elsewhere")
    assert elsewhere is not None and elsewhere.arguments == ()


def test_a_module_that_cannot_be_imported_is_listed_with_its_error(demo: str) -> None:
    registry = ModuleRegistry({"demo": demo, "broken": "no_such_module_anywhere"})

    catalogue = build_catalogue(registry)

    assert [n.name for n in catalogue] == ["broken", "demo"]
    assert catalogue[0].actions == ()
    assert catalogue[0].error is not None and "cannot be imported" in catalogue[0].error


def test_an_unknown_namespace_is_refused_naming_the_known_ones(demo: str) -> None:
    with pytest.raises(UnknownModuleName, match="registered namespaces: demo"):
        describe_namespace(ModuleRegistry({"demo": demo}), "nope")


def test_every_builtin_action_is_catalogued_and_resolves() -> None:
    registry = ModuleRegistry.discover()

    for namespace in build_catalogue(registry):
        assert namespace.error is None, namespace
        assert namespace.actions, namespace.name
        for action in namespace.actions:
            resolved = registry.resolve(f"{namespace.name}.{action.name}")
            assert resolved.is_read_only is action.probe
