"""The console in Debian's Chromium: a page per test that records every request
it makes (none may leave the service) and keeps screenshots as artefacts in
test-artifacts/console/ (gitignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from console_page import Console, ExperimentMaker, make_experiment_with
from playwright.sync_api import Browser

from support import ServiceThread


@contextmanager
def _console_on(
    browser: Browser, url: str, request: pytest.FixtureRequest
) -> Iterator[Console]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
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


@pytest.fixture
def console(
    browser: Browser, service: ServiceThread, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The console of the open service (access control off)."""
    with _console_on(browser, service.url, request) as view:
        yield view


@pytest.fixture
def secured_console(
    browser: Browser, secured_service: ServiceThread, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The console of the service with access control on (JWTs, roles claim)."""
    with _console_on(browser, secured_service.url, request) as view:
        yield view


@pytest.fixture
def make_experiment(api: httpx.Client) -> ExperimentMaker:
    """Create an experiment through the API: make_experiment(steps=[...])."""
    return make_experiment_with(api)
