"""The console in Debian's Chromium: a page per test that records every request
it makes (none may leave the service) and keeps screenshots as artefacts in
test-artifacts/console/ (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from console_page import Console, ExperimentMaker, console_on, make_experiment_with
from playwright.sync_api import Browser

from support import ServiceThread


@pytest.fixture
def console(
    browser: Browser, service: ServiceThread, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The console of the open service (access control off)."""
    with console_on(browser, service.url, request.node.name) as view:
        yield view


@pytest.fixture
def secured_console(
    browser: Browser, secured_service: ServiceThread, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The console of the service with access control on (JWTs, roles claim)."""
    with console_on(browser, secured_service.url, request.node.name) as view:
        yield view


@pytest.fixture
def make_experiment(api: httpx.Client) -> ExperimentMaker:
    """Create an experiment through the API: make_experiment(steps=[...])."""
    return make_experiment_with(api)
