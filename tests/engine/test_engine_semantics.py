"""Trial semantics (SPEC §3) through `TrialEngine.run`, in process, into memory."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import engine_actions
import pytest
from trial_harness import MemoryRecorder, make_engine, make_plan, run_trial

from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import TrialStatus
from kallisti.engine import StopSignal, TrialEngine
from kallisti.modules import ModuleRegistry

LINE = re.compile(
    r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?)Z - (INFO|ERROR)\] (.*)$"
)
T = {"t": "engine_actions"}


def step(do: str, **where: Any) -> dict[str, Any]:
    return {"do": do, "where": where}


def ok(value: Any = "fine") -> dict[str, Any]:
    return step("t.echo", value=value)


def failing(message: str = "boom") -> dict[str, Any]:
    return step("t.fail", message=message)


@pytest.fixture(autouse=True)
def calls() -> Iterator[list[str]]:
    """What the `t` actions ran, in order."""
    engine_actions.CALLS.clear()
    yield engine_actions.CALLS
    engine_actions.CALLS.clear()


@pytest.fixture
def engine() -> TrialEngine:
    return make_engine(module_overrides=T)


def sections(recorder: MemoryRecorder) -> list[str]:
    return [key for key in recorder.record if key != "result"]


async def test_a_trial_whose_steps_pass_succeeds_and_logs_kallistis_lines(
    engine: TrialEngine,
) -> None:
    plan = make_plan(
        steps_=[
            {
                "step": "Echo a dict",
                "do": "t.echo",
                "where": {"value": {"status_code": 200}},
                "expect": [{"operator": "eq", "status_code": 200}],
            },
            step("t.returns_nothing"),
        ]
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.SUCCEEDED
    assert sections(recorder) == ["steps"]
    first = recorder.record["steps"][0]
    assert first["step_name"] == "Echo"
    assert first["step_parameters"] == {"value": {"status_code": 200}}
    assert recorder.messages("steps", 0) == [
        "Starting command execution.",
        "Result: {'status_code': 200}.",
        "Succeeded. All expectations passed: [{'operator': 'eq', 'status_code': 200}].",
        "Completed.",
    ]
    # A None result is not logged, and there is no expectation line without expect.
    assert recorder.messages("steps", 1) == [
        "Starting command execution.",
        "Completed.",
    ]
    assert recorder.result == ["Trial Completed."]


async def test_every_log_line_starts_with_a_utc_iso_time_and_its_level(
    engine: TrialEngine,
) -> None:
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    recorder = await run_trial(make_plan(steps_=[ok(), failing()]), engine=engine)
    after = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)

    lines = [*recorder.lines("steps", 0), *recorder.lines("steps", 1)]
    lines += recorder.record["result"][0]["logs"]
    for line in lines:
        match = LINE.match(line)
        assert match, line
        assert before <= datetime.fromisoformat(match.group(1)) <= after
    assert [LINE.match(line).group(2) for line in lines] == [  # type: ignore[union-attr]
        "INFO",
        "INFO",
        "INFO",
        "INFO",
        "ERROR",
        "ERROR",
    ]


async def test_log_times_come_from_the_engine_clock_converted_to_utc() -> None:
    moscow = timezone(timedelta(hours=3))
    engine = TrialEngine(
        ModuleRegistry.discover(T),
        CredentialRegistry.discover(CredentialContext()),
        clock=lambda: datetime(2026, 1, 31, 15, 0, 0, 123456, tzinfo=moscow),
    )

    recorder = await run_trial(make_plan(steps_=[ok()]), engine=engine)

    assert recorder.lines("steps")[0] == (
        "[2026-01-31T12:00:00.123Z - INFO] Starting command execution."
    )


async def test_a_failing_step_fails_the_trial_skips_the_rest_and_runs_post_steps(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        pre_steps=[ok("pre")],
        steps_=[ok("first"), failing("kaboom"), ok("never")],
        post_steps=[ok("cleanup")],
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.FAILED
    assert calls == ["echo:pre", "echo:first", "fail:kaboom", "echo:cleanup"]
    assert len(recorder.record["steps"]) == 2, "the step after the failure is skipped"
    assert recorder.messages("steps", 1) == [
        "Starting command execution.",
        "Step failed. Type: RuntimeError. Error: kaboom",
    ]
    assert recorder.messages("post_steps")[-1] == "Completed."
    assert recorder.result == [
        "Trial Failed. Type: StepsExecutionError. Error: [in: steps, reason: kaboom]"
    ]


async def test_a_failing_pre_step_aborts_the_trial_skips_steps_and_runs_post_steps(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        pre_steps=[failing("not ready"), ok("pre-2")],
        steps_=[ok("chaos")],
        post_steps=[ok("cleanup")],
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.ABORTED
    assert calls == ["fail:not ready", "echo:cleanup"]
    assert sections(recorder) == ["pre_steps", "post_steps"]
    assert recorder.result == [
        "Trial Aborted. Type: StepsExecutionError. Error: "
        "[in: pre_steps, reason: not ready]"
    ]


async def test_a_failing_post_step_fails_the_trial_and_the_other_post_steps_run(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        steps_=[ok("chaos")],
        post_steps=[failing("rollback broke"), ok("cleanup-2")],
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.FAILED
    assert calls == ["echo:chaos", "fail:rollback broke", "echo:cleanup-2"]
    assert recorder.messages("post_steps", 1)[-1] == "Completed."
    assert recorder.result == [
        "Trial Failed. Type: StepsExecutionError. Error: "
        "[in: post_steps, reason: rollback broke]"
    ]


async def test_a_failed_expectation_fails_the_step_after_logging_the_result(
    engine: TrialEngine,
) -> None:
    plan = make_plan(
        steps_=[
            {
                "do": "t.echo",
                "where": {"value": "503"},
                "expect": [{"operator": "lt", "value": 500}],
            }
        ]
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps") == [
        "Starting command execution.",
        "Result: 503.",
        "Step failed. Type: ExpectationFailed. Error: Expectation failed: "
        "value lt 500 does not hold (actual: '503').",
    ]


async def test_an_unknown_namespace_fails_the_step_with_unknown_module_name(
    engine: TrialEngine,
) -> None:
    recorder = await run_trial(make_plan(steps_=[step("nosuch.action")]), engine=engine)

    assert recorder.status is TrialStatus.FAILED
    last = recorder.messages("steps")[-1]
    assert last.startswith(
        "Step failed. Type: UnknownModuleName. Error: Unknown module name 'nosuch'"
    )
    assert recorder.result[0].startswith(
        "Trial Failed. Type: StepsExecutionError. Error: [in: steps, reason: Unknown"
    )


@pytest.mark.parametrize(
    "do", ["t.no_such_action", "t.asyncio", "t.time", "t.CALLS", "t.echo.deeper"]
)
async def test_an_unknown_or_non_public_action_fails_with_could_not_find_function(
    engine: TrialEngine, do: str
) -> None:
    recorder = await run_trial(make_plan(steps_=[step(do)]), engine=engine)

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1].startswith(
        f"Step failed. Type: CouldNotFindFunction. Error: Could not find function "
        f"{do!r}"
    )


async def test_where_missing_a_parameter_fails_with_invalid_arguments_naming_it(
    engine: TrialEngine, calls: list[str]
) -> None:
    recorder = await run_trial(
        make_plan(steps_=[step("t.greet", greeting="Hi")]), engine=engine
    )

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: InvalidArguments. Error: `where` does not fit t.greet: "
        "missing a required argument: 'name'. It takes: name, greeting."
    )


async def test_where_with_an_unknown_parameter_fails_before_the_action_runs(
    engine: TrialEngine, calls: list[str]
) -> None:
    recorder = await run_trial(
        make_plan(steps_=[step("t.echo", value=1, colour="red")]), engine=engine
    )

    assert calls == []
    last = recorder.messages("steps")[-1]
    assert last.startswith("Step failed. Type: InvalidArguments.")
    assert "'colour'" in last


async def test_where_cannot_supply_the_step_context(engine: TrialEngine) -> None:
    recorder = await run_trial(
        make_plan(steps_=[step("t.log_lines", count=1, step_context="forged")]),
        engine=engine,
    )

    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: InvalidArguments. Error: `step_context` is reserved."
    )


async def test_missing_parameters_make_the_trial_invalid_and_name_every_one(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        pre_steps=[step("t.greet", name="{{ who }}")],
        steps_=[step("t.echo", value="{{ zone }}-{{ known }}")],
        post_steps=[step("t.echo", value={"nested": ["{{ cleanup_target }}"]})],
        parameters={"known": "yes"},
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.INVALID
    assert calls == [], "nothing runs, not even post steps"
    assert sections(recorder) == []
    assert recorder.result == [
        "Trial Invalid. Type: MissingParameterValueError. Error: Trial is invalid "
        "because of missing value in experiment parameters: "
        "'cleanup_target', 'who', 'zone'."
    ]


async def test_parameters_are_rendered_into_each_step_with_their_type(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        steps_=[
            {
                "do": "t.echo",
                "where": {"value": "{{ qty }}"},
                "expect": [{"operator": "eq", "value": 2}],
            },
            step("t.greet", name="{{ name }}", greeting="Hello {{ qty }}"),
        ],
        parameters={"qty": 2, "name": 'O\'Brien "{{ qty }}"'},
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.SUCCEEDED
    assert recorder.record["steps"][0]["step_parameters"] == {"value": 2}
    assert recorder.record["steps"][1]["step_parameters"] == {
        "name": 'O\'Brien "{{ qty }}"',
        "greeting": "Hello 2",
    }
    assert recorder.messages("steps", 1)[1] == (
        'Result: Hello 2, O\'Brien "{{ qty }}"!.'
    )


async def test_a_blocking_action_runs_in_a_thread_and_returns_its_result(
    engine: TrialEngine,
) -> None:
    recorder = await run_trial(
        make_plan(steps_=[step("t.blocking_echo", value=[1, 2])]), engine=engine
    )

    assert recorder.status is TrialStatus.SUCCEEDED
    assert recorder.messages("steps")[1] == "Result: [1, 2]."


async def test_an_action_can_log_into_its_step_through_the_step_context(
    engine: TrialEngine,
) -> None:
    recorder = await run_trial(
        make_plan(steps_=[step("t.log_lines", count=2)]), engine=engine
    )

    assert recorder.messages("steps") == [
        "Starting command execution.",
        "line 0",
        "line 1",
        "Result: 2.",
        "Completed.",
    ]


async def test_a_driver_error_is_one_line_in_the_record_and_the_log(
    engine: TrialEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await run_trial(
        make_plan(steps_=[failing("first line\nsecond line")]), engine=engine
    )

    assert "step failed: first line" in caplog.messages
    assert not any("second line" in message for message in caplog.messages)
    assert not any(record.exc_info for record in caplog.records)


async def test_a_stop_during_a_long_wait_interrupts_it_and_post_steps_run(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        steps_=[step("cm.wait", time_in_seconds=600), ok("after the wait")],
        post_steps=[ok("cleanup")],
    )
    stop = StopSignal()
    asyncio.get_running_loop().call_later(0.2, stop.request, "asked by a test")

    started = time.monotonic()
    recorder = await run_trial(plan, engine=engine, stop=stop)
    elapsed = time.monotonic() - started

    assert elapsed < 1.2
    assert recorder.status is TrialStatus.STOPPED
    assert calls == ["echo:cleanup"]
    assert len(recorder.record["steps"]) == 1
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: StepFailed. Error: Step interrupted: asked by a test."
    )
    assert recorder.messages("post_steps")[-1] == "Completed."
    assert recorder.result == ["Trial Stopped. Reason: asked by a test."]


async def test_a_stop_during_pre_steps_skips_the_steps_and_ends_stopped(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        pre_steps=[step("t.sleep", seconds=30), ok("pre-2")],
        steps_=[ok("chaos")],
        post_steps=[ok("cleanup")],
    )
    stop = StopSignal()
    asyncio.get_running_loop().call_later(0.1, stop.request, "halt")

    recorder = await run_trial(plan, engine=engine, stop=stop)

    assert recorder.status is TrialStatus.STOPPED
    assert calls == ["sleep:30", "echo:cleanup"]


async def test_a_stop_asked_before_the_trial_starts_runs_nothing(
    engine: TrialEngine, calls: list[str]
) -> None:
    stop = StopSignal()
    stop.request("stopped while scheduled")

    recorder = await run_trial(
        make_plan(steps_=[ok()], post_steps=[ok("cleanup")]), engine=engine, stop=stop
    )

    assert recorder.status is TrialStatus.STOPPED
    assert calls == []
    assert recorder.result == [
        "Trial Stopped before it started: stopped while scheduled. Nothing ran."
    ]


async def test_a_step_past_its_own_timeout_fails_with_step_timed_out(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        steps_=[
            {"do": "t.sleep", "where": {"seconds": 30}, "timeout_seconds": 0.2},
            ok("never"),
        ],
        post_steps=[ok("cleanup")],
    )

    started = time.monotonic()
    recorder = await run_trial(plan, engine=engine)

    assert time.monotonic() - started < 2
    assert recorder.status is TrialStatus.FAILED
    assert calls == ["sleep:30", "echo:cleanup"]
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: StepTimedOut. Error: "
        "The step did not finish within 0.2 seconds."
    )


async def test_the_engine_step_timeout_applies_to_steps_without_their_own() -> None:
    engine = make_engine(module_overrides=T, step_timeout_seconds=0.2)

    recorder = await run_trial(
        make_plan(steps_=[step("cm.wait", time_in_seconds=30)]), engine=engine
    )

    assert recorder.status is TrialStatus.FAILED
    assert "Type: StepTimedOut" in recorder.messages("steps")[-1]


async def test_the_record_is_written_step_by_step_and_complete_before_the_close(
    engine: TrialEngine,
) -> None:
    plan = make_plan(
        pre_steps=[ok("pre")],
        steps_=[ok("one"), ok("two")],
        post_steps=[ok("cleanup")],
    )

    recorder = await run_trial(plan, engine=engine)

    snapshots = recorder.snapshots

    def first_snapshot_with(section: str, count: int, last_line: str) -> int:
        for index, snapshot in enumerate(snapshots):
            entries = snapshot.get(section, [])
            logs = entries[count - 1]["logs"] if len(entries) >= count else []
            if logs and logs[-1].endswith(last_line):
                return index
        raise AssertionError(f"no snapshot shows {section}[{count - 1}] {last_line}")

    order = [
        first_snapshot_with("pre_steps", 1, "Starting command execution."),
        first_snapshot_with("pre_steps", 1, "Completed."),
        first_snapshot_with("steps", 1, "Completed."),
        first_snapshot_with("steps", 2, "Starting command execution."),
        first_snapshot_with("steps", 2, "Completed."),
        first_snapshot_with("post_steps", 1, "Completed."),
    ]
    assert order == sorted(order) and len(set(order)) == len(order)
    # Each step shows up before the next one starts.
    assert "steps" not in snapshots[order[1]]
    assert len(snapshots[order[2]]["steps"]) == 1
    # The last change already holds the result: the close adds nothing.
    assert snapshots[-1] == recorder.record
    assert recorder.record["result"][0]["logs"][-1].endswith("Trial Completed.")


async def test_an_abandoned_blocking_action_cannot_change_the_closed_record(
    engine: TrialEngine,
) -> None:
    engine_actions.LATE_LINE_LOGGED.clear()
    plan = make_plan(
        steps_=[
            {"do": "t.slow_logger", "where": {"seconds": 0.4}, "timeout_seconds": 0.1}
        ]
    )

    recorder = await run_trial(plan, engine=engine)
    changes_at_close = len(recorder.snapshots)
    # Wait for the late line to be handed to the loop, then for the loop to
    # have run what was handed to it before our own callback.
    assert await asyncio.to_thread(engine_actions.LATE_LINE_LOGGED.wait, 10)
    handed_over = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon_threadsafe(handed_over.set_result, None)
    await handed_over

    assert recorder.status is TrialStatus.FAILED
    assert len(recorder.snapshots) == changes_at_close


def test_a_private_action_name_is_refused_when_the_step_is_validated() -> None:
    with pytest.raises(ValueError, match=r"must be `<namespace>\.<action>`"):
        make_plan(steps_=[step("t._private")])


async def test_post_steps_start_after_the_interrupted_action_has_wound_down(
    engine: TrialEngine, calls: list[str]
) -> None:
    plan = make_plan(
        steps_=[step("t.winds_down_slowly", seconds=30)],
        post_steps=[ok("rollback")],
    )
    stop = StopSignal()
    asyncio.get_running_loop().call_later(0.1, stop.request, "stop")

    recorder = await run_trial(plan, engine=engine, stop=stop)

    # The action has ended ("wound down") before the post step began: nothing
    # of it can come later.
    assert recorder.status is TrialStatus.STOPPED
    assert calls == ["winding down", "wound down", "echo:rollback"]


async def test_credentials_on_an_action_that_takes_none_are_ignored_as_in_kallisti(
    engine: TrialEngine,
) -> None:
    plan = make_plan(
        steps_=[
            {
                "do": "t.echo",
                "where": {
                    "value": 1,
                    "credentials": {"type": "TOKEN_FILE", "token_path": "/nowhere"},
                },
            }
        ]
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.SUCCEEDED
    assert "Credentials ignored: t.echo takes none." in recorder.messages("steps", 0)


async def test_a_stop_asked_while_post_steps_run_still_ends_stopped(
    engine: TrialEngine,
) -> None:
    stop = StopSignal()

    async def ask_later() -> None:
        await asyncio.sleep(0.2)
        stop.request("asked during clean-up")

    plan = make_plan(
        steps_=[ok()],
        post_steps=[step("cm.wait", time_in_seconds=0.5)],
    )
    asker = asyncio.create_task(ask_later())
    recorder = await run_trial(plan, engine=engine, stop=stop)
    await asker

    assert recorder.status is TrialStatus.STOPPED
    assert recorder.messages("post_steps", 0)[-1] == "Completed."
