"""The halt switch in the console: a red control on every page, a confirmation
naming how many trials it stops, a banner on every page while halted, and
resuming. On a service of its own: a halt refuses every trial of its database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_page import Console, console_on
from playwright.sync_api import Browser, expect

from support import ServiceThread, running_service, service_settings, wait_for_trial

HOLD = {"step": "Hold", "do": "cm.wait", "where": {"time_in_seconds": 60}}
TIDY = {"step": "Tidy", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@pytest.fixture(scope="module")
def halt_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    path: Path = tmp_path_factory.mktemp("halt") / "kallisti.db"
    with running_service(service_settings(f"sqlite:///{path}")) as thread:
        yield thread


@pytest.fixture
def halt_console(
    browser: Browser, halt_service: ServiceThread, request: pytest.FixtureRequest
) -> Iterator[Console]:
    with console_on(browser, halt_service.url, request.node.name) as view:
        yield view


def test_halt_names_the_trials_it_stops_bans_new_ones_and_resumes(
    halt_console: Console, halt_service: ServiceThread
) -> None:
    with httpx.Client(base_url=halt_service.url, timeout=30) as api:
        experiment = api.post(
            "/api/v1/experiment",
            json={"name": "Held", "steps": [HOLD], "post_steps": [TIDY]},
        ).json()
        running = [
            api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
            for _ in range(2)
        ]
        for trial in running:
            wait_for_trial(
                api,
                trial["id"],
                timeout=60,
                until=lambda t: t["status"] == "In Progress",
            )

        page = halt_console.open("#/trials")
        page.get_by_role("button", name="Halt all chaos").click()
        dialog = page.get_by_role("dialog", name="Halt all chaos?")
        expect(dialog).to_contain_text("This stops 2 trials now")
        dialog.get_by_role("button", name="Halt and stop 2 trials").click()
        expect(dialog.get_by_role("alert")).to_contain_text("Say why")
        dialog.get_by_label("Reason").fill("Payments incident in progress")
        halt_console.shot("halt-dialog")
        dialog.get_by_role("button", name="Halt and stop 2 trials").click()

        banner = page.locator(".halt-banner")
        expect(banner).to_contain_text("Chaos is halted")
        expect(banner).to_contain_text("Payments incident in progress")
        for trial in running:
            assert wait_for_trial(api, trial["id"], timeout=60)["status"] == "Stopped"
        assert api.get("/api/v1/halt").json()["halted"] is True

        # On every page while halted; starting a trial is refused and says why.
        page.get_by_role("link", name="Experiments", exact=True).click()
        # The trials page links its trials' experiment too: wait for the list.
        expect(page.get_by_role("heading", name="Experiments", level=1)).to_be_visible()
        page.get_by_role("table").get_by_role("link", name="Held").click()
        expect(banner).to_be_visible()
        expect(page.get_by_role("button", name="Halt all chaos")).to_have_count(0)
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.get_by_role("alert").filter(has_text="not started")).to_be_visible()
        halt_console.shot("halted")
        assert halt_console.serious_accessibility_violations() == []

        banner.get_by_role("button", name="Resume chaos").click()
        expect(banner).to_have_count(0)
        expect(page.get_by_role("button", name="Halt all chaos")).to_be_visible()
        assert api.get("/api/v1/halt").json()["halted"] is False
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page).to_have_url(re.compile(r"#/trials/"))
        page.get_by_role("button", name="Stop trial").click()
        expect(page.locator(".trial-bar .status")).to_have_text("Stopped")


def test_a_halt_made_elsewhere_is_pushed_to_an_open_console(
    halt_console: Console, halt_service: ServiceThread
) -> None:
    page = halt_console.open("#/experiments")
    banner = page.locator(".halt-banner")
    expect(page.get_by_role("button", name="Halt all chaos")).to_be_visible()
    url = page.url
    # Another operator halts (the CLI would write the same row).
    with httpx.Client(base_url=halt_service.url, timeout=30) as api:
        api.put("/api/v1/halt", json={"reason": "Halted from the CLI"})
        try:
            expect(banner).to_contain_text("Halted from the CLI", timeout=3000)
            expect(page.get_by_role("button", name="Halt all chaos")).to_have_count(0)
            halt_console.shot("pushed-halt")
            assert halt_console.serious_accessibility_violations() == []
        finally:
            api.delete("/api/v1/halt").raise_for_status()
    expect(banner).to_have_count(0, timeout=3000)
    expect(page.get_by_role("button", name="Halt all chaos")).to_be_visible()

    # Pushed, not polled: one stream, and no page change.
    assert page.url == url
    halt_reads = [u for u in halt_console.requests if u.endswith("/api/v1/halt")]
    streams = [u for u in halt_console.requests if u.endswith("/api/v1/halt/events")]
    assert (len(halt_reads), len(streams)) == (0, 1), halt_console.requests
