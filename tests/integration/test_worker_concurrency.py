"""One worker runs several trials at once, never more than its concurrency."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from kallisti.settings import Settings
from support import ServiceThread, service_settings, wait_for_trial


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals]
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def _waits_posted(api: httpx.Client, seconds: float, count: int) -> list[str]:
    """The ids of `count` trials of one `cm.wait` of `seconds`, posted at once."""
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": f"wait {seconds}",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": seconds}}],
        },
    ).json()
    return [
        api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()["id"]
        for _ in range(count)
    ]


def _run_times(trials: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """When each trial ran, from `executed_at` to `completed_at`, in order."""
    return sorted(
        (
            datetime.fromisoformat(t["executed_at"]),
            datetime.fromisoformat(t["completed_at"]),
        )
        for t in trials
    )


def test_one_worker_runs_trials_concurrently_up_to_its_limit(
    api: httpx.Client, service: ServiceThread
) -> None:
    limit = service.service.settings.worker_concurrency
    ids = _waits_posted(api, 1, limit + 4)
    trials = [wait_for_trial(api, trial_id, timeout=60) for trial_id in ids]

    assert {t["status"] for t in trials} == {"Succeeded"}
    peak = _max_overlap(_run_times(trials))
    assert 2 <= peak <= limit


def test_at_the_default_concurrency_a_burst_of_waits_runs_all_at_once(
    tmp_path: Path,
) -> None:
    # A waiting trial costs a task, not a thread: the shipped default must not
    # queue a burst of waits behind a fixed handful of slots.
    burst = 100
    settings = service_settings(
        f"sqlite:///{tmp_path / 'burst.db'}",
        worker_concurrency=Settings().worker_concurrency,
    )
    service = ServiceThread(settings).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            ids = _waits_posted(api, 600, burst)
            running = [
                wait_for_trial(
                    api,
                    trial_id,
                    timeout=60,
                    until=lambda t: (
                        t["status"] == "In Progress" and "steps" in t["trial_record"]
                    ),
                )
                for trial_id in ids
            ]
            for trial_id in ids:
                api.put(f"/api/v1/trial/{trial_id}/stop").raise_for_status()
            stopped = [wait_for_trial(api, trial_id, timeout=60) for trial_id in ids]
    finally:
        service.stop()

    assert len(running) == burst
    assert {t["status"] for t in stopped} == {"Stopped"}


def test_a_trial_waiting_for_a_slot_starts_as_soon_as_one_frees(
    tmp_path: Path,
) -> None:
    # Polls are a minute apart here: only the end of a running trial can start
    # the ones that found every slot taken.
    settings = service_settings(
        f"sqlite:///{tmp_path / 'slots.db'}",
        worker_concurrency=1,
        poll_interval_seconds=60,
    )
    service = ServiceThread(settings).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            ids = _waits_posted(api, 0.2, 3)
            trials = [wait_for_trial(api, trial_id, timeout=20) for trial_id in ids]
    finally:
        service.stop()

    assert {t["status"] for t in trials} == {"Succeeded"}
    for (_, ended), (started, _) in itertools.pairwise(_run_times(trials)):
        assert started >= ended  # one at a time
        assert (started - ended).total_seconds() < 5  # not the next poll
