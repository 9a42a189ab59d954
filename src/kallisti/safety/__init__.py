"""What keeps the blast in bounds, beside the engine: the admission of trials
(halt switch, blackout windows, limits, target leases) and guards."""

from kallisti.safety.admission import Admission
from kallisti.safety.guards import GuardRun, GuardWatch
from kallisti.safety.limits import effective_max_duration, stop_after

__all__ = [
    "Admission",
    "GuardRun",
    "GuardWatch",
    "effective_max_duration",
    "stop_after",
]
