"""The console's files: served at /ui by the service itself, shipped inside the
package (package-data covers every file), nothing loaded from elsewhere."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import httpx
import pytest

from kallisti.web import static_directory

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_URL = re.compile(r"https?://(?!www\.w3\.org/2000/svg|127\.0\.0\.1)")
IMPORT = re.compile(r"""(?:import|from)\s*(?:[\w{}\s,*]+from\s*)?["'](\.[^"']+)["']""")


def _static_files() -> list[Path]:
    return sorted(p for p in static_directory().rglob("*") if p.is_file())


@sqlite_only
def test_console_page_is_served_with_a_policy_that_keeps_it_local(
    api: httpx.Client,
) -> None:
    for path in ("/ui", "/ui/"):
        response = api.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
    assert not re.findall(r"""(?:src|href)=["']https?://""", response.text)
    for asset in re.findall(r"""(?:src|href)=["'](/ui/[^"']+)""", response.text):
        assert api.get(asset).status_code == 200, asset


@sqlite_only
def test_every_module_import_of_the_console_resolves(api: httpx.Client) -> None:
    for path in _static_files():
        if path.suffix != ".js":
            continue
        text = path.read_text()
        # Only the SVG namespace and the loopback example may name a URL.
        assert not OUTSIDE_URL.findall(text), path
        for target in IMPORT.findall(text):
            resolved = (path.parent / target).resolve()
            assert resolved.is_file(), f"{path.name} imports missing {target}"
            relative = resolved.relative_to(static_directory())
            assert api.get(f"/ui/assets/{relative}").status_code == 200


def test_package_data_ships_every_console_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["kallisti"]
    package = static_directory().parents[1]
    for path in _static_files():
        relative = path.relative_to(package).as_posix()
        assert any(
            fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/")
            for p in patterns
        ), relative


@sqlite_only
def test_swagger_ui_description_links_to_the_console(api: httpx.Client) -> None:
    description = api.get("/api/v1/openapi.json").json()["info"]["description"]

    assert "(/ui)" in description
