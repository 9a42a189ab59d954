"""The engine runs one trial; it knows nothing of HTTP or SQL."""

from kallisti.engine.plan import StopSignal, TrialPlan, TrialRecorder
from kallisti.engine.runner import DEFAULT_STEP_TIMEOUT_SECONDS, TrialEngine, step_name

__all__ = [
    "DEFAULT_STEP_TIMEOUT_SECONDS",
    "StopSignal",
    "TrialEngine",
    "TrialPlan",
    "TrialRecorder",
    "step_name",
]
