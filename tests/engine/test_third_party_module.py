"""A third-party module, installed into the environment by pip, runs in a trial.

The package is built here as a wheel (the venv has no `wheel` package, so pip
cannot build a setuptools project without build isolation) and installed with
pip for real: its entry point in group `kallisti.modules` is what makes its
namespace known. Names are unique per run so parallel runs do not collide.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from trial_harness import make_engine, make_plan, run_trial

from kallisti.domain.errors import CouldNotFindFunction
from kallisti.domain.models import TrialStatus
from kallisti.modules import ModuleRegistry
from kallisti.modules.catalogue import build_catalogue
from kallisti.service import build_engine
from kallisti.settings import Settings

MODULE_SOURCE = '''
"""A tiny Kallisti action module from outside the project."""

from os import getcwd

__all__ = ["add", "shout"]


async def add(*, a: int, b: int = 1) -> int:
    return a + b


def shout(*, text: str, step_context) -> str:
    step_context.log(f"shouting {text}")
    return text.upper()


def not_listed() -> str:
    return getcwd()
'''


@dataclass(frozen=True)
class Installed:
    namespace: str
    module: str
    distribution: str


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{path},sha256={digest.decode()},{len(data)}"


def build_wheel(
    directory: Path, distribution: str, module: str, namespace: str
) -> Path:
    version = "0.1.0"
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": MODULE_SOURCE,
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: kallisti-tests\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": (
            f"[kallisti.modules]\n{namespace} = {module}\n"
        ),
    }
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        lines = []
        for path, text in files.items():
            data = text.encode()
            archive.writestr(path, data)
            lines.append(_record_line(path, data))
        archive.writestr(
            f"{dist_info}/RECORD", "\n".join([*lines, f"{dist_info}/RECORD,,"])
        )
    return wheel


def pip(*arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *arguments],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def third_party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    suffix = uuid.uuid4().hex[:8]
    installed = Installed(
        namespace=f"demo{suffix}",
        module=f"kallisti_demo_{suffix}",
        distribution=f"kallisti-demo-{suffix}",
    )
    wheel = build_wheel(
        tmp_path_factory.mktemp("wheel"),
        installed.distribution,
        installed.module,
        installed.namespace,
    )
    pip("install", "--no-deps", "--no-index", str(wheel))
    importlib.invalidate_caches()
    try:
        yield installed
    finally:
        pip("uninstall", "-y", installed.distribution)
        sys.modules.pop(installed.module, None)
        importlib.invalidate_caches()


def test_discover_finds_an_installed_module_by_its_entry_point(
    third_party: Installed,
) -> None:
    registry = ModuleRegistry.discover()

    assert registry.namespaces[third_party.namespace] == third_party.module
    assert registry.namespaces["cm"] == "kallisti.modules.cm"


async def test_a_trial_runs_the_actions_of_an_installed_module(
    third_party: Installed,
) -> None:
    ns = third_party.namespace
    plan = make_plan(
        steps_=[
            {
                "do": f"{ns}.add",
                "where": {"a": "{{ a }}", "b": 5},
                "expect": [{"operator": "eq", "value": 7}],
            },
            {"do": f"{ns}.shout", "where": {"text": "chaos"}},
        ],
        parameters={"a": 2},
    )

    recorder = await run_trial(plan, engine=make_engine())

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    assert [s["step_name"] for s in recorder.record["steps"]] == ["Add", "Shout"]
    assert recorder.messages("steps", 1) == [
        "Starting command execution.",
        "shouting chaos",
        "Result: CHAOS.",
        "Completed.",
    ]


@pytest.mark.parametrize("action", ["not_listed", "getcwd"])
def test_an_installed_module_exposes_only_what_it_lists(
    third_party: Installed, action: str
) -> None:
    with pytest.raises(CouldNotFindFunction):
        ModuleRegistry.discover().resolve(f"{third_party.namespace}.{action}")


async def test_the_settings_module_map_points_a_namespace_at_another_module(
    third_party: Installed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an operator would configure it: KALLISTI_MODULE_MAP holds JSON.
    monkeypatch.setenv("KALLISTI_MODULE_MAP", json.dumps({"cm": third_party.module}))
    engine = build_engine(Settings())

    recorder = await run_trial(
        make_plan(
            steps_=[{"do": "cm.add", "where": {"a": 1}}],
            post_steps=[{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        ),
        engine=engine,
    )

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps") == [
        "Starting command execution.",
        "Result: 2.",
        "Completed.",
    ]
    assert recorder.messages("post_steps")[-1].startswith(
        "Step failed. Type: CouldNotFindFunction."
    ), "the built-in cm is no longer behind the namespace"


def test_the_catalogue_describes_an_installed_module_from_its_signatures(
    third_party: Installed,
) -> None:
    (info,) = [
        n
        for n in build_catalogue(ModuleRegistry.discover())
        if n.name == third_party.namespace
    ]

    assert info.module == third_party.module
    assert [a.to_json() for a in info.actions] == [
        {
            "name": "add",
            "doc": "",
            "probe": False,
            "arguments": [
                {"name": "a", "type": "int", "default": None, "required": True},
                {"name": "b", "type": "int", "default": 1, "required": False},
            ],
        },
        {
            "name": "shout",
            "doc": "",
            "probe": False,
            "arguments": [
                {"name": "text", "type": "str", "default": None, "required": True}
            ],
        },
    ]
