"""HTTP actions stream the answer: a body is read up to `max_response_bytes`
(the record says when the rest was left), and `timeout` bounds the whole call,
also against a target that drips its answer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from trial_harness import MemoryRecorder, make_plan, run_trial

from hostile_targets import StreamingTarget
from kallisti.domain.models import TrialStatus


@pytest.fixture(scope="module")
def streaming() -> Iterator[StreamingTarget]:
    target = StreamingTarget().start()
    yield target
    target.stop()


async def run_step(where: dict[str, Any]) -> MemoryRecorder:
    return await run_trial(
        make_plan(steps_=[{"do": "cm.http_request", "where": where}])
    )


async def test_a_body_past_max_response_bytes_is_cut_and_the_record_says_so(
    streaming: StreamingTarget,
) -> None:
    recorder = await run_step(
        {"url": f"{streaming.url}/bytes/5000000", "max_response_bytes": 1000}
    )

    assert recorder.status is TrialStatus.SUCCEEDED
    messages = recorder.messages("steps")
    assert (
        "Response body cut at 1000 bytes (max_response_bytes); 4999000 bytes left "
        "unread." in messages
    )
    result = next(m for m in messages if m.startswith("Result: "))
    assert "'response_text': '" + "x" * 1000 + "'" in result


async def test_a_dripping_target_fails_the_step_at_the_whole_call_timeout(
    streaming: StreamingTarget,
) -> None:
    url = f"{streaming.url}/drip"

    recorder = await run_step({"url": url, "timeout": 1})

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1] == (
        f"Step failed. Type: StepFailed. Error: No complete answer from {url} "
        "within 1 seconds (the whole call, body included)."
    )


@pytest.mark.parametrize("value", [0, -1, True, "10", 10**12])
async def test_max_response_bytes_must_be_a_sensible_whole_number(
    streaming: StreamingTarget, value: Any
) -> None:
    recorder = await run_step({"url": streaming.url, "max_response_bytes": value})

    assert recorder.status is TrialStatus.FAILED
    assert "max_response_bytes must be a whole number" in recorder.messages("steps")[-1]


def test_a_1_gb_answer_keeps_the_process_under_200_mib(
    streaming: StreamingTarget,
) -> None:
    # Its own process: this one's peak memory holds every other test's.
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        sys.path[:0] = {json.dumps(sys.path)}
        from trial_harness import make_plan, run_trial
        plan = make_plan(steps_=[{{"do": "cm.http_request",
            "where": {{"url": "{streaming.url}/bytes/1000000000", "timeout": 120}}}}])
        recorder = asyncio.run(run_trial(plan))
        print(json.dumps({{
            "status": recorder.status.value,
            "messages": recorder.messages("steps"),
            # VmHWM, not ru_maxrss: the latter may keep the parent's peak
            # across the spawn.
            "peak_kib": int(next(
                line.split()[1] for line in open("/proc/self/status")
                if line.startswith("VmHWM:")
            )),
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])

    assert outcome["status"] == "Succeeded", outcome
    assert (
        "Response body cut at 10000000 bytes (max_response_bytes); 990000000 bytes "
        "left unread." in outcome["messages"]
    ), outcome
    assert outcome["peak_kib"] < 200 * 1024, outcome
