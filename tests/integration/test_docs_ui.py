"""The landing page: `/` leads to a Swagger UI that works with no Internet
access (its assets are served by Kallisti), rendered in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from support import ServiceThread

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_docs_page_loads_only_local_assets(api: httpx.Client) -> None:
    page = api.get("/", follow_redirects=True)

    assert page.status_code == 200
    assert "swagger-ui" in page.text
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page.text)
    assert external == []
    for asset in re.findall(r"""(?:src|href)=["'](/[^"']+)""", page.text):
        assert api.get(asset).status_code == 200, asset


def test_swagger_ui_renders_every_resource_in_chromium(
    service: ServiceThread, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    outside_requests: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(service.url)
            else outside_requests.append(request.url)
        ),
    )
    page.goto(service.url + "/")
    page.wait_for_selector(".opblock-tag", timeout=15_000)
    tags = page.locator(".opblock-tag").all_inner_texts()
    page.screenshot(path=str(tmp_path / "swagger.png"), full_page=False)
    page.close()

    assert any("experiment" in tag for tag in tags)
    assert any("trial" in tag for tag in tags)
    assert outside_requests == []
