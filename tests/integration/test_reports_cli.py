"""`kallisti report` as a subprocess, reading the service's database."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from support import ServiceThread, wait_for_trial


def _report(
    service: ServiceThread, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kallisti", "report", *args],
        env={
            **os.environ,
            "KALLISTI_DATABASE_URL": service.service.settings.database_url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _trial(api: httpx.Client) -> dict[str, Any]:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "cli report",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        },
    ).json()
    created = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    return wait_for_trial(api, created["id"])


def test_cli_writes_each_report_format_for_a_trial(
    api: httpx.Client, service: ServiceThread
) -> None:
    trial = _trial(api)

    junit = _report(service, "--trial", trial["id"], "--format", "junit")
    xml = _report(
        service, "--trial", trial["id"], KALLISTI_REPORT_HEADER_TITLE="Game day, 3 May"
    )
    html = _report(service, "--trial", trial["id"], "--format", "html")

    assert junit.returncode == 0, junit.stderr
    suite = ET.fromstring(junit.stdout).find("testsuite")
    assert suite is not None and suite.get("id") == trial["id"]
    assert xml.returncode == 0, xml.stderr
    assert ET.fromstring(xml.stdout).findtext("report-title") == "Game day, 3 May"
    assert html.returncode == 0 and html.stdout.startswith("<!DOCTYPE html>")


def test_cli_report_of_an_unknown_trial_fails_with_a_message(
    service: ServiceThread,
) -> None:
    result = _report(service, "--trial", "00000000-0000-4000-8000-000000000000")
    assert result.returncode == 1
    assert "was not found" in result.stderr
    assert result.stdout == ""


def test_cli_report_refuses_a_bad_format(service: ServiceThread) -> None:
    result = _report(service, "--format", "pdf")
    assert result.returncode == 2
    assert "pdf" in result.stderr


def test_cli_report_filters_trials_by_creation_time_as_the_api_does(
    api: httpx.Client, service: ServiceThread
) -> None:
    trial = _trial(api)
    created = trial["created_at"]

    inside = _report(
        service, "--created-after", created, "--created-before", "9999-01-01T00:00Z"
    )
    after = _report(service, "--created-after", "9999-01-01T00:00:00+00:00")
    before = _report(service, "--created-before", created)
    from_api = api.get(
        "/api/v1/report",
        params={"format": "xml", "created_after": created},
    )

    assert inside.returncode == 0, inside.stderr
    assert trial["id"] in inside.stdout
    assert after.returncode == 0, after.stderr
    assert trial["id"] not in after.stdout
    assert before.returncode == 0, before.stderr
    assert trial["id"] not in before.stdout
    assert trial["id"] in from_api.text


def test_cli_report_refuses_a_time_without_offset_or_out_of_range(
    service: ServiceThread,
) -> None:
    naive = _report(service, "--created-after", "2024-05-03T09:00:00")
    garbled = _report(service, "--created-before", "yesterday")
    out_of_range = _report(service, "--created-after", "0001-01-01T00:00+14:00")

    for result, option in (
        (naive, "--created-after"),
        (garbled, "--created-before"),
        (out_of_range, "--created-after"),
    ):
        assert result.returncode == 2, result.stderr
        assert option in result.stderr
        assert result.stdout == ""
