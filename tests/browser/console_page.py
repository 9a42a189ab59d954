"""The console page object for browser tests, and experiment bodies they use."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

__all__ = [
    "SCREENSHOTS",
    "Console",
    "ExperimentMaker",
    "console_on",
    "experiment_body",
    "make_experiment_with",
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
expect.set_options(timeout=15_000)


@dataclass
class Console:
    """A browser page on the console, with what it asked of the network."""

    page: Page
    base_url: str
    name: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, fragment: str = "") -> Page:
        self.page.goto(f"{self.base_url}/ui{fragment}")
        expect(self.page.locator("main h1")).to_be_visible()
        return self.page

    def shot(self, label: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(SCREENSHOTS / f"{self.name}-{label}.png"), full_page=True
        )

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.base_url)]

    def serious_accessibility_violations(self) -> list[dict[str, Any]]:
        results = Axe().run(self.page)
        violations: list[dict[str, Any]] = results.response["violations"]
        return [v for v in violations if v["impact"] in ("serious", "critical")]


@contextmanager
def console_on(browser: Browser, url: str, test_name: str) -> Iterator[Console]:
    """A fresh browser context on the console at `url`; on leaving, a last
    screenshot, and no page error or outside request may have happened."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")
    view = Console(page=page, base_url=url, name=name)
    page.on("request", lambda r: view.requests.append(r.url))
    page.on("pageerror", lambda error: view.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            view.errors.append(message.text)
            if (
                message.type == "error"
                # Chromium logs each 4xx answer; the tests provoke some on purpose.
                and not message.text.startswith("Failed to load resource")
            )
            else None
        ),
    )
    yield view
    view.shot("end")
    context.close()
    assert view.errors == [], view.errors
    assert view.outside_requests() == []


def experiment_body(name: str, target_url: str) -> dict[str, Any]:
    """An experiment as the seed walk-through writes one: a parameter, a probe."""
    return {
        "name": name,
        "description": "Probe the shop and check it answers.",
        "metadata": {"team": "payments"},
        "parameters": {"base_url": "http://unused.invalid"},
        "steps": [
            {
                "step": "HTTP health check",
                "do": "cm.http_probe",
                "where": {"url": "{{ base_url }}/health"},
                "expect": [{"operator": "eq", "status_code": 200}],
            }
        ],
        "post_steps": [
            {"step": "Settle", "do": "cm.wait", "where": {"time_in_seconds": 0}}
        ],
    }


ExperimentMaker = Callable[..., dict[str, Any]]


def make_experiment_with(api: httpx.Client) -> ExperimentMaker:
    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": f"console-{uuid.uuid4().hex[:8]}", **fields}
        response = api.post("/api/v1/experiment", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return make
