"""What a new user meets in the first hour: step titles in the record, the
run summary's reason, `serve --help` defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from support import wait_for_trial


def _kallisti(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kallisti", *args],
        env={**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path}/k.db"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_each_record_entry_keeps_kallistis_step_name_and_adds_the_title(
    api: httpx.Client,
) -> None:
    steps = [
        {"step": "Pause a moment", "do": "cm.wait", "where": {"time_in_seconds": 0}},
        {"do": "cm.wait", "where": {"time_in_seconds": 0}},
    ]
    experiment = api.post(
        "/api/v1/experiment", json={"name": "titles", "steps": steps}
    ).json()
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()

    done = wait_for_trial(api, trial["id"])

    first, second = done["trial_record"]["steps"]
    assert first["step_name"] == second["step_name"] == "Wait"
    assert first["step"] == "Pause a moment"
    assert "step" not in second


def test_run_summary_keeps_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "fails.json"
    path.write_text(
        json.dumps({"name": "fails", "steps": [{"do": "cm.nope", "where": {}}]})
    )

    result = _kallisti("run", str(path), tmp_path=tmp_path)

    summary = [line for line in result.stderr.splitlines() if line.startswith("Trial ")]
    assert summary and summary[-1].startswith("Trial Failed: ")
    assert len(summary[-1]) > len("Trial Failed: ")


def test_serve_help_shows_the_defaults(tmp_path: Path) -> None:
    result = _kallisti("serve", "--help", tmp_path=tmp_path)

    assert "127.0.0.1" in result.stdout and "8080" in result.stdout


def test_a_command_where_no_database_exists_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kallisti", "report"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "KALLISTI_DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "No Kallisti database at" in result.stderr
    assert "KALLISTI_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "kallisti.db").exists()


def test_log_lines_about_a_trial_name_its_id() -> None:
    script = (
        "import logging\n"
        "from kallisti.cli._common import configure_logging\n"
        "configure_logging()\n"
        "logging.getLogger('kallisti.worker').info('step failed', "
        "extra={'trial_id': 'abc-123'})\n"
        "logging.getLogger('kallisti.worker').info('polling')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )

    lines = result.stderr.splitlines()
    assert lines[0].endswith("step failed [trial abc-123]")
    assert lines[1].endswith("polling")
