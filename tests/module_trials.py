"""Running module steps end to end over the REST API, and reading the record."""

from __future__ import annotations

from typing import Any

import httpx

from support import wait_for_trial

__all__ = ["run_steps", "step", "step_error", "step_logs"]


def step(do: str, where: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"step": do, "do": do, "where": where, **extra}


def run_steps(
    api: httpx.Client,
    *steps: dict[str, Any],
    dry_run: bool = False,
    post_steps: tuple[dict[str, Any], ...] = (),
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Create an experiment of `steps`, run it as a trial, return the ended trial."""
    experiment = api.post(
        "/api/v1/experiment",
        json={"name": "module test", "steps": list(steps), "post_steps": post_steps},
    )
    assert experiment.status_code == 201, experiment.text
    body: dict[str, Any] = {"experiment": experiment.json()["id"]}
    if dry_run:
        body["dry_run"] = True
    trial = api.post("/api/v1/trial", json=body)
    assert trial.status_code == 201, trial.text
    return wait_for_trial(api, trial.json()["id"], timeout=timeout)


def step_logs(trial: dict[str, Any], index: int = 0, section: str = "steps") -> str:
    """One step's log lines, joined."""
    return "\n".join(trial["trial_record"][section][index]["logs"])


def step_error(trial: dict[str, Any], index: int = 0, section: str = "steps") -> str:
    """The step's failure line, without its timestamp."""
    line: str = trial["trial_record"][section][index]["logs"][-1]
    assert " - ERROR] " in line, f"step {index} did not fail: {line}"
    return line.split("] ", 1)[1]
