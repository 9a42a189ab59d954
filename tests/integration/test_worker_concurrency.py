"""One worker runs several trials at once, never more than its concurrency."""

from __future__ import annotations

from datetime import datetime

import httpx

from kallisti.settings import Settings
from support import wait_for_trial


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals]
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_one_worker_runs_trials_concurrently_up_to_its_limit(api: httpx.Client) -> None:
    limit = Settings().worker_concurrency
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "concurrency",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 1}}],
        },
    ).json()
    ids = [
        api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()["id"]
        for _ in range(limit + 4)
    ]
    trials = [wait_for_trial(api, trial_id, timeout=60) for trial_id in ids]

    assert {t["status"] for t in trials} == {"Succeeded"}
    peak = _max_overlap(
        [
            (
                datetime.fromisoformat(t["executed_at"]),
                datetime.fromisoformat(t["completed_at"]),
            )
            for t in trials
        ]
    )
    assert 2 <= peak <= limit
