"""Warnings on experiment and schedule changes, POST /experiment/validate and
`kallisti validate`: mistakes that would fail a trial, found before it runs,
while nothing Kallisti accepts is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

EXPERIMENTS = "/api/v1/experiment"

MISTAKES: dict[str, Any] = {
    "name": "mistakes",
    "parameters": {"ns": "shop"},
    "steps": [
        {"do": "k8s.terminate_pod", "where": {"ns": "{{ ns }}"}},
        {"do": "cm.wait", "where": {"time_in_second": 1}},
        {"do": "cm.http_probe", "where": {"url": "http://{{ host }}/health"}},
        {
            "do": "cm.http_probe",
            "where": {"url": "http://x", "credentials": {"type": "TOKEN_FIEL"}},
        },
    ],
}


def _by_field(warnings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {w["field"]: w for w in warnings}


def test_create_answers_warnings_naming_each_step_and_a_fix(api: httpx.Client) -> None:
    response = api.post(EXPERIMENTS, json=MISTAKES)

    assert response.status_code == 201, response.text
    warnings = _by_field(response.json()["warnings"])
    assert warnings["steps.0.do"]["fix"] == "did you mean `k8s.terminate_pods`?"
    assert warnings["steps.1.where.time_in_second"]["fix"] == (
        "did you mean `time_in_seconds`?"
    )
    assert (
        "needs the argument `time_in_seconds`" in warnings["steps.1.where"]["message"]
    )
    assert "`{{ host }}`" in warnings["steps.2.where"]["message"]
    assert warnings["steps.3.where.credentials.type"]["fix"] == (
        "did you mean `TOKEN_FILE`?"
    )
    # Stored as sent: a read carries no warnings.
    read = api.get(f"{EXPERIMENTS}/{response.json()['id']}").json()
    assert "warnings" not in read
    assert read["steps"] == MISTAKES["steps"]


def test_a_sound_experiment_has_no_warnings_on_create_replace_and_patch(
    api: httpx.Client,
) -> None:
    body = {
        "name": "sound",
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
    }
    created = api.post(EXPERIMENTS, json=body).json()
    path = f"{EXPERIMENTS}/{created['id']}"

    assert created["warnings"] == []
    assert api.put(path, json=body).json()["warnings"] == []
    step = {"do": "k8s.terminate_pod", "where": {"ns": "shop"}}
    patched = api.patch(path, json={"steps": [step]}).json()
    assert [w["field"] for w in patched["warnings"]] == ["steps.0.do"]


def test_schedule_answers_warn_with_the_schedules_parameters(api: httpx.Client) -> None:
    body = {
        "name": "templated",
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": "{{ pause }}"}}],
    }
    experiment = api.post(EXPERIMENTS, json=body).json()
    schedules = f"{EXPERIMENTS}/{experiment['id']}/schedule"

    bare = api.post(schedules, json={"recurrence_pattern": "0 3 * * *"})
    given = api.post(
        schedules, json={"recurrence_pattern": "0 3 * * *", "parameters": {"pause": 1}}
    )

    assert [w["field"] for w in bare.json()["warnings"]] == ["steps.0.where"]
    assert given.json()["warnings"] == []
    patched = api.patch(
        f"{schedules}/{bare.json()['id']}", json={"parameters": {"pause": 2}}
    )
    assert patched.json()["warnings"] == []


def test_validate_stores_nothing_and_refuses_what_create_refuses(
    api: httpx.Client,
) -> None:
    before = len(api.get(EXPERIMENTS).json())

    checked = api.post(f"{EXPERIMENTS}/validate", json=MISTAKES)
    empty = api.post(f"{EXPERIMENTS}/validate", json={"name": "empty", "steps": []})
    refused = api.post(f"{EXPERIMENTS}/validate", json={"name": "no steps"})

    assert checked.status_code == 200
    assert checked.json()["valid"] is False
    assert len(checked.json()["warnings"]) == 5
    assert empty.json() == {"valid": True, "warnings": []}
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["steps"]
    assert len(api.get(EXPERIMENTS).json()) == before


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kallisti", "validate", str(path)],
        env={**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{path.parent}/k.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kallisti_validate_exits_one_on_mistakes_and_zero_when_sound(
    tmp_path: Path,
) -> None:
    mistakes = tmp_path / "mistakes.json"
    mistakes.write_text(json.dumps(MISTAKES))
    sound = tmp_path / "sound.json"
    sound.write_text(
        json.dumps(
            {
                "name": "ok",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
            }
        )
    )

    bad, good = _validate(mistakes), _validate(sound)

    assert bad.returncode == 1
    assert "steps.0.do" in bad.stderr and "k8s.terminate_pods" in bad.stderr
    assert good.returncode == 0, good.stderr
    assert "no problems found" in good.stderr
