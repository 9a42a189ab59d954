"""The XML report renders as a readable page in a real browser (Debian's Chromium,
headless, driven by Playwright), through the XSL stylesheet it embeds; so does
the HTML report. Screenshots are kept under the test's tmp directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from support import ProbeTarget, ServiceThread, wait_for_trial

# One backend is enough: the page depends on the document, not the database.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    yield page
    page.close()


def _trials(
    api: httpx.Client, target: ProbeTarget
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "Checkout survives a pod loss",
            "description": "Probe the shop, <pause> & probe again.",
            "metadata": {"team": "payments"},
            "steps": [
                {
                    "step": "Shop is healthy",
                    "do": "cm.http_probe",
                    "where": {"url": f"{target.url}/health"},
                },
                {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}},
            ],
            "post_steps": [
                {"step": "Clean up", "do": "cm.wait", "where": {"time_in_seconds": 0}}
            ],
        },
    ).json()
    done = []
    for status in (200, 503):
        target.status = status
        created = api.post(
            "/api/v1/trial", json={"experiment": experiment["id"]}
        ).json()
        done.append(wait_for_trial(api, created["id"]))
    return experiment, done


def test_xml_report_renders_as_a_readable_page_in_chromium(
    api: httpx.Client,
    service: ServiceThread,
    probe_target: ProbeTarget,
    page: Page,
    tmp_path: Path,
) -> None:
    experiment, (passed, failed) = _trials(api, probe_target)

    report = f"{service.url}/api/v1/report?format=xml&experiment={experiment['id']}"
    page.goto(report)
    page.screenshot(path=str(tmp_path / "kallisti-report.png"), full_page=True)
    text = page.inner_text("body")

    assert page.title() == "Kallisti Report"
    assert page.locator("h1").inner_text() == "Kallisti Report"
    assert "Checkout survives a pod loss" in text
    assert "Probe the shop, <pause> & probe again." in text
    assert passed["id"] in text and failed["id"] in text
    upper = text.upper()
    assert "SUCCEEDED" in upper and "FAILED" in upper
    assert "Succeeded: 1 of 2" in text
    assert "Starting command execution." in text
    assert "Trial Completed." in text
    assert "Executed at" in text and " UTC" in text
    assert (tmp_path / "kallisti-report.png").stat().st_size > 10_000


def test_html_report_renders_its_timeline_in_chromium(
    api: httpx.Client,
    service: ServiceThread,
    probe_target: ProbeTarget,
    page: Page,
    tmp_path: Path,
) -> None:
    experiment, (passed, _) = _trials(api, probe_target)

    page.goto(f"{service.url}/api/v1/report?experiment={experiment['id']}&format=html")
    page.screenshot(path=str(tmp_path / "kallisti-report-html.png"), full_page=True)

    rows = page.locator(f"#trial-{passed['id']} .timeline .row")
    assert rows.count() == 3
    bar = rows.first.locator(".bar")
    assert bar.is_visible()
    assert "Step 1: Shop is healthy" in rows.first.inner_text()
    assert "Checkout survives a pod loss" in page.inner_text("h2")
