"""What keeps the blast in bounds, beside the engine: the admission of trials
(halt switch, blackout windows, limits, target leases) and guards."""

from kallisti.safety.admission import Admission

__all__ = ["Admission"]
