"""Blocking drivers run on a bounded pool of their own threads; when every one
is held by abandoned calls, a step fails clearly instead of wedging."""

from __future__ import annotations

import os

import pytest
from trial_harness import make_plan, run_trial

from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import TrialStatus
from kallisti.engine import TrialEngine
from kallisti.modules import ModuleRegistry


@pytest.fixture
def one_driver_thread() -> TrialEngine:
    return TrialEngine(
        ModuleRegistry.discover({"t": "engine_actions"}),
        CredentialRegistry.discover(CredentialContext(environ=os.environ)),
        step_timeout_seconds=30,
        driver_threads=1,
    )


async def test_a_step_whose_driver_gets_no_thread_fails_naming_why(
    one_driver_thread: TrialEngine,
) -> None:
    holds_the_thread = make_plan(
        steps_=[
            {
                "do": "t.slow_logger",
                "where": {"seconds": 2},
                "timeout_seconds": 0.2,
            }
        ]
    )
    first = await run_trial(holds_the_thread, engine=one_driver_thread)
    waits = make_plan(
        steps_=[
            {"do": "t.blocking_echo", "where": {"value": 1}, "timeout_seconds": 0.3}
        ]
    )

    second = await run_trial(waits, engine=one_driver_thread)

    assert first.status is TrialStatus.FAILED
    assert second.status is TrialStatus.FAILED
    assert (
        "no driver thread became free (1 blocking driver calls still running)"
        in (second.messages("steps")[-1])
    )
    one_driver_thread.close()
