"""Workers claim trials from the store and run them with the engine."""

from kallisti.worker.recorder import StoreRecorder
from kallisti.worker.worker import Worker, plan_from_row

__all__ = ["StoreRecorder", "Worker", "plan_from_row"]
