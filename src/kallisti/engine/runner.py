"""Runs one trial: template check, pre steps, steps, post steps, into the record.

Order and outcome (SPEC §3):
- a template naming a parameter without value → `Invalid`, nothing runs;
- a pre step fails → `Aborted`, steps are skipped, post steps run;
- a step fails → `Failed`, the remaining steps are skipped, post steps run;
- a post step fails → `Failed`; the other post steps still run (clean-up does
  as much as it can);
- a stop → the running step is interrupted, no further pre step or step runs,
  post steps run, then `Stopped`.
The record is closed, complete, in the same write that sets the terminal status.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from kallisti.credentials import Credential, CredentialRegistry
from kallisti.domain.errors import (
    InvalidArguments,
    KallistiError,
    MissingParameterValueError,
    StepError,
    StepFailed,
    StepTimedOut,
)
from kallisti.domain.expectations import check_all, parse_expectations
from kallisti.domain.limits import LOG_LINE_LIMIT, capped, capped_values
from kallisti.domain.models import Guard, Step, TrialStatus
from kallisti.domain.record import (
    GUARDS,
    Clock,
    Section,
    StepLog,
    TrialRecord,
    utc_now,
)
from kallisti.domain.secret_parameters import (
    secret_parameter_names,
    secret_parameter_values,
)
from kallisti.domain.secrets import (
    SecretRedactor,
    mask_secret_fields,
    secret_field_values,
)
from kallisti.domain.templating import Templates
from kallisti.engine.heap import release_freed_memory
from kallisti.engine.plan import LeaseLost, StopSignal, TrialPlan, TrialRecorder
from kallisti.modules.context import STEP_CONTEXT_PARAMETER, Fault, StepContext
from kallisti.modules.registry import Action, ModuleRegistry
from kallisti.safety import GuardRun, GuardWatch, stop_after
from kallisti.safety.ledger import FaultUndoer, TrialSteps

__all__ = ["TrialEngine", "step_name"]

logger = logging.getLogger(__name__)

DEFAULT_STEP_TIMEOUT_SECONDS = 600.0
DEFAULT_DRIVER_THREADS = 32
# How long an interrupted async action may take to clean up after itself.
_WIND_DOWN_SECONDS = 10.0
# How long an action waits for its fault to be committed to the ledger.
_LEDGER_WRITE_SECONDS = 30.0


def step_name(do: str) -> str:
    """Kallisti's step name: the action part of `do`, as words (`Http probe`)."""
    return do.split(".", 1)[-1].replace("_", " ").capitalize()


class _Interrupted(Exception):
    """The running step was cut short by a stop."""


@dataclass
class _Failure:
    section: Section
    error: KallistiError

    def line(self, status: TrialStatus) -> str:
        # Kallisti's wording; the step's own log names the error's type.
        return (
            f"Trial {status.value}. Type: StepsExecutionError. "
            f"Error: [in: {self.section}, reason: {self.error}]"
        )


class TrialEngine:
    """Runs trial plans with the actions of a module registry."""

    def __init__(
        self,
        modules: ModuleRegistry,
        credentials: CredentialRegistry,
        *,
        step_timeout_seconds: float = DEFAULT_STEP_TIMEOUT_SECONDS,
        clock: Clock = utc_now,
        driver_threads: int = DEFAULT_DRIVER_THREADS,
    ) -> None:
        self._modules = modules
        self._credentials = credentials
        self._step_timeout = step_timeout_seconds
        self._clock = clock
        self._tls = ssl.create_default_context()
        self._undoer = FaultUndoer(modules, credentials, self._tls)
        # Blocking drivers get threads of their own, bounded: a step cut off by
        # its time-out leaves its thread running until the driver returns, and
        # such threads must never starve the worker's store calls.
        self._drivers = ThreadPoolExecutor(
            max_workers=driver_threads, thread_name_prefix="kallisti-driver"
        )
        self._drivers_busy = 0
        self._drivers_lock = threading.Lock()

    def close(self) -> None:
        """Let go of the driver threads (running ones finish on their own)."""
        self._drivers.shutdown(wait=False, cancel_futures=True)

    @property
    def modules(self) -> ModuleRegistry:
        return self._modules

    def new_record(self, existing: Mapping[str, Any] | None = None) -> TrialRecord:
        return TrialRecord(existing, redactor=SecretRedactor(), clock=self._clock)

    async def run(
        self, plan: TrialPlan, recorder: TrialRecorder, stop: StopSignal
    ) -> TrialStatus:
        """Run `plan` to a terminal status, which is returned once recorded."""
        record = self.new_record()
        record.on_change(lambda: recorder.changed(record))
        status = await self._run_phases(plan, record, stop, recorder)
        # The recorder may close it otherwise: a stop accepted as the trial
        # ended still makes it `Stopped`.
        closed = await asyncio.shield(recorder.close(status, record))
        # A trial may have read a large answer (up to max_response_bytes, with
        # its decoded and parsed copies); freed, it stays in glibc's arenas.
        release_freed_memory()
        return closed or status

    async def recover(
        self,
        plan: TrialPlan,
        existing_record: Mapping[str, Any],
        recorder: TrialRecorder,
        reason: str,
    ) -> TrialStatus:
        """Close a trial whose worker was lost: run its post steps, end `Failed`.

        No pre step or step runs again: chaos is never injected twice. Post
        steps the lost worker completed are not run again either; the one it was
        running when it was lost runs once more, in place of its partial entry.
        """
        existing = dict(existing_record)
        done = list(existing.get("post_steps", []))
        finished = 0
        while finished < len(done) and _finished(done[finished]):
            finished += 1
        interrupted = finished < len(done)
        existing["post_steps"] = done[:finished]
        record = self.new_record(existing)
        record.on_change(lambda: recorder.changed(record))
        _learn_secret_parameters(plan, record)
        record.result(f"The worker running this trial was lost: {reason}", "ERROR")
        if finished:
            record.result(
                f"{finished} post step(s) had completed and do not run again."
            )
        if interrupted and finished < len(plan.post_steps):
            record.result(
                f"Post step {finished + 1} was interrupted by the loss of the "
                "worker; it runs once more."
            )
        templates = Templates(plan.parameters)
        failures = await self._run_post_steps(plan, templates, record, start=finished)
        # What the lost worker's chaos left behind is undone here: nobody else
        # is left to do it.
        await self._settle_faults(plan, recorder, record, revert=True)
        earlier_failed = any(_failed(entry) for entry in done[:finished])
        record.result(
            "Trial Failed. Type: WorkerLost. Error: the trial was interrupted by the "
            "loss of its worker; post steps were run to clean up"
            + (" but some failed." if failures or earlier_failed else "."),
            "ERROR",
        )
        closed = await asyncio.shield(recorder.close(TrialStatus.FAILED, record))
        return closed or TrialStatus.FAILED

    async def _run_phases(
        self,
        plan: TrialPlan,
        record: TrialRecord,
        stop: StopSignal,
        recorder: TrialRecorder | None = None,
    ) -> TrialStatus:
        _learn_secret_parameters(plan, record)
        templates = Templates(plan.parameters)
        missing: set[str] = set()
        for step in (*plan.pre_steps, *plan.steps, *plan.post_steps, *plan.guards):
            missing |= templates.missing(step.where)
        if missing:
            error = MissingParameterValueError(missing)
            record.result(
                f"Trial Invalid. Type: {type(error).__name__}. Error: {error}", "ERROR"
            )
            return TrialStatus.INVALID
        if stop.requested:
            record.result(
                f"Trial Stopped before it started: {stop.reason}. Nothing ran.", "ERROR"
            )
            return TrialStatus.STOPPED

        failure: _Failure | None = None
        status = TrialStatus.SUCCEEDED
        phases: tuple[tuple[Section, tuple[Step, ...], TrialStatus], ...] = (
            ("pre_steps", plan.pre_steps, TrialStatus.ABORTED),
            ("steps", plan.steps, TrialStatus.FAILED),
        )
        # Safety beside the steps, until the post steps begin.
        guards = GuardWatch(
            plan.guards,
            functools.partial(
                self._run_guard, templates=templates, record=record, plan=plan
            ),
            stop.request,
        )
        guards.start()
        deadline = (
            None
            if plan.max_duration_seconds is None
            else asyncio.create_task(
                stop_after(plan.max_duration_seconds, stop.request)
            )
        )
        try:
            for section, steps, failed_status in phases:
                for step in steps:
                    if stop.requested:
                        break
                    _check_lease(recorder)
                    step_error = await self._run_step(
                        section, step, templates, record, stop, plan, recorder=recorder
                    )
                    if step_error is not None:
                        failure, status = _Failure(section, step_error), failed_status
                        break
                if failure is not None or stop.requested:
                    break
        finally:
            if deadline is not None:
                deadline.cancel()
            await guards.stop()
        if stop.requested:
            status = TrialStatus.STOPPED

        post_failures = await self._run_post_steps(
            plan, templates, record, recorder=recorder
        )
        if stop.requested:  # also when asked while the post steps ran
            status = TrialStatus.STOPPED
        if post_failures and status is TrialStatus.SUCCEEDED:
            failure, status = post_failures[0], TrialStatus.FAILED
        residual = await self._settle_faults(plan, recorder, record, revert=False)
        if residual and status is TrialStatus.SUCCEEDED:
            status = TrialStatus.FAILED
            failure = _Failure(
                "post_steps",
                StepFailed(
                    f"{len(residual)} fault(s) still in place after the post steps "
                    f"(see residual_faults); undo them with `kallisti revert "
                    f"{plan.trial_id}` or POST /api/v1/trial/{plan.trial_id}/revert"
                ),
            )

        if status is TrialStatus.SUCCEEDED:
            record.result("Trial Completed.")
        elif status is TrialStatus.STOPPED:
            record.result(f"Trial Stopped. Reason: {stop.reason}.", "ERROR")
        elif failure is not None:
            record.result(failure.line(status), "ERROR")
        unreported = [f for f in post_failures if f is not failure]
        if unreported:
            record.result(
                "Clean-up incomplete: " + "; ".join(str(f.error) for f in unreported),
                "ERROR",
            )
        return status

    async def _run_post_steps(
        self,
        plan: TrialPlan,
        templates: Templates,
        record: TrialRecord,
        *,
        start: int = 0,
        recorder: TrialRecorder | None = None,
    ) -> list[_Failure]:
        # Post steps are the clean-up: a stop does not interrupt them, and one
        # failing does not keep the others from running.
        never = StopSignal()
        failures = []
        for step in plan.post_steps[start:]:
            _check_lease(recorder)
            error = await self._run_step(
                "post_steps", step, templates, record, never, plan, recorder=recorder
            )
            if error is not None:
                failures.append(_Failure("post_steps", error))
        return failures

    async def _run_guard(
        self,
        guard: Guard,
        *,
        templates: Templates,
        record: TrialRecord,
        plan: TrialPlan,
    ) -> GuardRun:
        """One run of a guard's probe into the record's `guards` section."""
        logs: list[StepLog] = []
        try:
            error = await self._run_step(
                GUARDS, guard, templates, record, StopSignal(), plan, logs=logs
            )
        except asyncio.CancelledError:
            for log in logs:  # cut short as the post steps begin: not a run
                log.discard()
            raise
        return _GuardRun(error, logs[0])

    async def _run_step(
        self,
        section: Section | Literal["guards"],
        step: Step,
        templates: Templates,
        record: TrialRecord,
        stop: StopSignal,
        plan: TrialPlan,
        *,
        logs: list[StepLog] | None = None,
        recorder: TrialRecorder | None = None,
    ) -> KallistiError | None:
        """Run one step into its log; return the error that ended it, if any."""
        render_error: StepFailed | None = None
        try:
            where = templates.render(step.where)
        except Exception as err:  # a filter given a value it cannot take
            where, render_error = dict(step.where), _driver_failure(err)
        credentials_spec = where.pop("credentials", None)
        record.redactor.add(*secret_field_values(where))
        recorded_parameters = mask_secret_fields(
            where
            if credentials_spec is None
            else {**where, "credentials": credentials_spec}
        )
        name = step.title if section == GUARDS else step_name(step.do)
        log = record.start_step(section, name, recorded_parameters, title=step.step)
        if logs is not None:
            logs.append(log)
        try:
            ledger = _LedgerPlace(recorder, section, step, name, plan)
            error = await self._attempt(
                step,
                where,
                credentials_spec,
                render_error,
                log,
                record,
                stop,
                plan,
                ledger,
            )
            if error is not None:
                _log_failure(log, error, plan, record.redactor)
            return error
        finally:
            # An abandoned blocking action may still call step_context.log;
            # its lines must not land in a step that has ended.
            log.close()

    async def _attempt(
        self,
        step: Step,
        where: dict[str, Any],
        credentials_spec: Any,
        render_error: StepFailed | None,
        log: StepLog,
        record: TrialRecord,
        stop: StopSignal,
        plan: TrialPlan,
        ledger: _LedgerPlace,
    ) -> KallistiError | None:
        log.info("Starting command execution.")
        try:
            if render_error is not None:
                raise render_error
            action = self._modules.resolve(step.do)
            arguments = self._arguments(action, where, credentials_spec, log, record)
            limit = step.timeout_seconds or self._step_timeout
            deadline = time.monotonic() + limit
            if action.accepts(STEP_CONTEXT_PARAMETER):
                arguments[STEP_CONTEXT_PARAMETER] = self._step_context(
                    log, record, plan, deadline, ledger.writer(action)
                )
            if plan.dry_run and action.accepts("dry_run"):
                arguments["dry_run"] = True
            elif plan.dry_run and not action.is_read_only:
                log.info(f"Dry run: would run {step.do}; nothing was changed.")
                log.info("Completed.")
                return None
            result = await self._call(action, arguments, limit, deadline, stop)
            if result is not None:
                # Strings cut before the whole is written out: a 10 MB body
                # must not be copied whole into a line that keeps 16 KB of it.
                log.info(
                    f"Result: {capped(str(capped_values(result, LOG_LINE_LIMIT)))}."
                )
            expectations = parse_expectations(step.expect)
            if expectations:
                check_all(expectations, result)
                log.info(f"Succeeded. All expectations passed: {step.expect}.")
            log.info("Completed.")
            return None
        except _Interrupted:
            return StepFailed(f"Step interrupted: {stop.reason}.")
        except StepError as err:
            return err
        except Exception as err:  # a driver's own error: one line, cause chained
            return _driver_failure(err)

    def _arguments(
        self,
        action: Action,
        where: dict[str, Any],
        credentials_spec: Any,
        log: StepLog,
        record: TrialRecord,
    ) -> dict[str, Any]:
        if STEP_CONTEXT_PARAMETER in where:
            raise InvalidArguments(f"`{STEP_CONTEXT_PARAMETER}` is reserved.")
        arguments = dict(where)
        if not action.accepts("credentials"):
            if credentials_spec is not None:
                # Kallisti ignores them; an experiment that ran there runs here.
                log.info(f"Credentials ignored: {action.do} takes none.")
        else:
            spec = credentials_spec or action.default_credentials(where)
            if spec is not None:
                credential = self._credentials.build(spec)
                record.redactor.add(*credential.secrets())
                arguments["credentials"] = credential
        injected = (
            {STEP_CONTEXT_PARAMETER: None}
            if action.accepts(STEP_CONTEXT_PARAMETER)
            else {}
        )
        try:
            action.signature.bind(**arguments, **injected)
        except TypeError as err:
            accepted = ", ".join(
                name
                for name in action.signature.parameters
                if name not in ("credentials", STEP_CONTEXT_PARAMETER)
            )
            raise InvalidArguments(
                f"`where` does not fit {action.do}: {err}. It takes: {accepted}."
            ) from None
        return arguments

    def _step_context(
        self,
        log: StepLog,
        record: TrialRecord,
        plan: TrialPlan,
        deadline: float,
        write_fault: Callable[[Fault], Coroutine[Any, Any, None]] | None = None,
    ) -> StepContext:
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        def log_line(message: str) -> None:
            # A blocking action calls this from its thread; the record lives
            # on the event loop.
            if threading.get_ident() == loop_thread:
                log.info(message)
            else:
                loop.call_soon_threadsafe(log.info, message)

        def build_credential(spec: Mapping[str, Any]) -> Credential:
            credential = self._credentials.build(spec)
            record.redactor.add(*credential.secrets())
            return credential

        def record_fault(fault: Fault) -> None:
            assert write_fault is not None
            if threading.get_ident() == loop_thread:
                raise RuntimeError(
                    "record_fault waits for the store: call it from a blocking action"
                )
            asyncio.run_coroutine_threadsafe(write_fault(fault), loop).result(
                timeout=_LEDGER_WRITE_SECONDS
            )
            log_line(f"Fault ledger: recorded before acting: {fault.change}.")

        return StepContext(
            log=log_line,
            add_secret=record.redactor.add,
            build_credential=build_credential,
            tls=self._tls,
            dry_run=plan.dry_run,
            trial_id=plan.trial_id,
            deadline=deadline,
            record_fault=None if write_fault is None else record_fault,
        )

    async def _settle_faults(
        self,
        plan: TrialPlan,
        recorder: TrialRecorder | None,
        record: TrialRecord,
        *,
        revert: bool,
    ) -> list[dict[str, Any]]:
        """Check the trial's ledger against the targets (with `revert`, undo
        what is still in place); record the outcome; return the residual
        faults."""
        faults = getattr(recorder, "faults", None)
        settled_hook = getattr(recorder, "faults_settled", None)
        if plan.dry_run or faults is None or settled_hook is None:
            return []
        entries = await faults()
        if not entries:
            return []
        steps = TrialSteps(
            {
                "pre_steps": plan.pre_steps,
                "steps": plan.steps,
                "post_steps": plan.post_steps,
            },
            plan.parameters,
        )
        settled = await asyncio.get_running_loop().run_in_executor(
            self._drivers,
            functools.partial(self._undoer.settle, entries, steps, revert=revert),
        )
        if not settled.outcomes:
            return []
        residual = settled.residual
        await settled_hook(settled.states, residual)
        for outcome in settled.outcomes:
            entry, why = outcome.entry, f" ({outcome.error})" if outcome.error else ""
            if outcome.outcome == "reverted":
                record.result(
                    f"Fault ledger: reverted {entry.change} ({entry.target})."
                )
            elif outcome.outcome != "already_clear":
                record.result(
                    f"Fault ledger: still in place after the post steps: "
                    f"{entry.change} ({entry.target}, since "
                    f"{entry.created_at.isoformat()}){why}. Undo: {entry.how}.",
                    "ERROR",
                )
        cleared = sum(o.outcome == "already_clear" for o in settled.outcomes)
        if cleared:
            record.result(f"Fault ledger: {cleared} recorded fault(s) are gone.")
        return residual

    async def _call(
        self,
        action: Action,
        arguments: dict[str, Any],
        limit: float,
        deadline: float,
        stop: StopSignal,
    ) -> Any:
        started = threading.Event()
        if action.is_async:
            call: Any = action.function(**arguments)
        else:
            # A blocking driver runs on a driver thread. A stop or time-out
            # abandons the thread's result; the thread runs on until the driver
            # returns (drivers bound their own calls by the step's deadline).
            function = functools.partial(action.function, **arguments)

            def run_driver() -> Any:
                started.set()
                with self._drivers_lock:
                    self._drivers_busy += 1
                try:
                    return function()
                finally:
                    with self._drivers_lock:
                        self._drivers_busy -= 1

            call = asyncio.get_running_loop().run_in_executor(self._drivers, run_driver)
        action_task = asyncio.ensure_future(call)
        stop_task = asyncio.ensure_future(stop.wait())
        timeout = max(deadline - time.monotonic(), 0.0)
        try:
            done, _ = await asyncio.wait(
                {action_task, stop_task},
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stop_task.cancel()
            if not action_task.done():
                action_task.cancel()
                if action.is_async:
                    # Let the action wind down before post steps roll back.
                    await asyncio.wait({action_task}, timeout=_WIND_DOWN_SECONDS)
        if action_task in done:
            return action_task.result()
        if stop_task in done:
            raise _Interrupted
        if not action.is_async and not started.is_set():
            raise StepTimedOut(
                limit,
                "no driver thread became free "
                f"({self._drivers_busy} blocking driver calls still running)",
            )
        raise StepTimedOut(limit)


def _check_lease(recorder: TrialRecorder | None) -> None:
    """Raise `LeaseLost` when the recorder says the lease may have run out."""
    holds_lease = getattr(recorder, "holds_lease", None)
    if holds_lease is not None and not holds_lease():
        raise LeaseLost


def _messages(entry: Any) -> list[str]:
    logs = entry.get("logs", []) if isinstance(entry, Mapping) else []
    return [str(line).split("] ", 1)[-1] for line in logs]


def _finished(entry: Any) -> bool:
    """Whether a recorded step ran to its end (completed or failed)."""
    return any(
        message == "Completed." or message.startswith("Step failed.")
        for message in _messages(entry)
    )


def _failed(entry: Any) -> bool:
    return any(message.startswith("Step failed.") for message in _messages(entry))


def _learn_secret_parameters(plan: TrialPlan, record: TrialRecord) -> None:
    # A parameter templated into a secret's place is a secret wherever it lands,
    # also inside a longer string (`Bearer {{ pw }}`, `?token={{ t }}`).
    steps = (*plan.pre_steps, *plan.steps, *plan.post_steps, *plan.guards)
    wheres = [step.where for step in steps]
    names = secret_parameter_names(plan.parameters, wheres)
    record.redactor.add(*secret_parameter_values(plan.parameters, names))


@dataclass
class _GuardRun:
    error: KallistiError | None
    log: StepLog

    def discard(self) -> None:
        self.log.discard()


def _driver_failure(err: Exception) -> StepFailed:
    lines = str(err).strip().splitlines()
    failure = StepFailed(lines[0] if lines else type(err).__name__)
    failure.type_name = type(err).__name__  # as Kallisti logs it: the driver's type
    failure.__cause__ = err
    return failure


def _log_failure(
    log: StepLog, error: KallistiError, plan: TrialPlan, redactor: SecretRedactor
) -> None:
    log.error(f"Step failed. Type: {error.type_name}. Error: {error}")
    # No traceback: a driver's exception text may carry a secret the redactor
    # masks here but a formatted traceback would print in full.
    logger.warning(
        "step failed: %s",
        capped(redactor.redact_text(str(error))),
        extra={"trial_id": str(plan.trial_id), "action": "step_failed"},
    )


@dataclass
class _LedgerPlace:
    """Where a step's faults go in the ledger: its trial's recorder, and the
    step's place in the plan (which a revert reads its access from)."""

    recorder: TrialRecorder | None
    section: str
    step: Step
    name: str
    plan: TrialPlan

    def writer(
        self, action: Action
    ) -> Callable[[Fault], Coroutine[Any, Any, None]] | None:
        record_fault = getattr(self.recorder, "record_fault", None)
        # Post steps are the clean-up: what they change is the undo itself.
        steps = {
            "pre_steps": self.plan.pre_steps,
            "steps": self.plan.steps,
        }.get(self.section, ())
        index = next((i for i, s in enumerate(steps) if s is self.step), None)
        if record_fault is None or index is None or self.plan.dry_run:
            return None
        namespace = action.do.split(".", 1)[0]

        async def write(fault: Fault) -> None:
            undo = {
                **fault.undo,
                "module": namespace,
                "section": self.section,
                "index": index,
                "how": fault.how,
            }
            await record_fault(self.name, fault.target, fault.change, undo)

        return write
