"""The fault ledger for `aws`: a stopped EC2 instance.

Whatever activity stops instances (`stop_instance` by id, by zone and filters,
`stop_instances`), the stop ends in one `ec2.StopInstances` call; the step's
client records the instances it names, before the call is sent (see
`AwsStep.client`). An entry (`kind: ec2_stopped`, `instance_ids`) is in place
while one of them is stopping or stopped, and undone by starting them. A
terminated instance holds no fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kallisti.domain.errors import StepFailed
from kallisti.modules.aws.access import AwsAccess, open_step
from kallisti.modules.context import StepContext

__all__ = ["fault_in_place", "revert_fault"]

_ACCESS_NAMES = ("region", "role", "endpoint_url", "request_timeout")
_STOPPED = frozenset({"stopping", "stopped"})


def _ec2(where: Mapping[str, Any], step_context: StepContext) -> Any:
    access = AwsAccess(**{k: where[k] for k in _ACCESS_NAMES if k in where})
    return open_step(access, None, step_context, dry_run=False).client("ec2")


def _stopped(ec2: Any, instance_ids: list[str]) -> list[str]:
    found = ec2.describe_instances(InstanceIds=instance_ids)
    return [
        instance["InstanceId"]
        for reservation in found["Reservations"]
        for instance in reservation["Instances"]
        if instance["State"]["Name"] in _STOPPED
    ]


def fault_in_place(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> bool:
    """Whether a recorded instance is still stopped (the ledger's check hook)."""
    if undo.get("kind") != "ec2_stopped":
        raise StepFailed(f"Unknown kind of aws ledger entry: {undo.get('kind')!r}.")
    return bool(_stopped(_ec2(where, step_context), list(undo["instance_ids"])))


def revert_fault(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> str:
    """Start the recorded instances still stopped (the ledger's revert hook)."""
    if undo.get("kind") != "ec2_stopped":
        raise StepFailed(f"Unknown kind of aws ledger entry: {undo.get('kind')!r}.")
    ec2 = _ec2(where, step_context)
    stopped = _stopped(ec2, list(undo["instance_ids"]))
    if stopped:
        ec2.start_instances(InstanceIds=stopped)
    return f"started EC2 instance(s) {', '.join(stopped) or 'none'}"
