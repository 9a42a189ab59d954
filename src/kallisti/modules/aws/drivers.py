"""chaostoolkit-aws's activities as step actions, each on the step's own session.

Every driver function builds its clients with ``aws_client(service,
configuration, secrets)``, which sets up boto3's *default* session once per
process and builds clients from it: unusable for a service running trials in
different regions and roles at once. So each driver module's ``aws_client``
name is replaced, once and on first use, by `_step_client`, which returns a
client of the step running in the current context (a `ContextVar`, set in the
step's own worker thread). Outside a Kallisti step it refuses to build one.

Each wrapper takes the driver's own arguments (minus `configuration` and
`secrets`), Kallisti's `region`, and our `role`, `endpoint_url` and
`request_timeout`. Actions (the drivers' ``actions`` modules) also take
`dry_run`. Results are turned into plain JSON.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
from contextvars import ContextVar
from typing import Any

from kallisti.credentials import Credential
from kallisti.domain.errors import StepError
from kallisti.modules.aws.access import (
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    AwsAccess,
    AwsStep,
    aws_failure,
    jsonable,
    open_step,
)
from kallisti.modules.context import StepContext, read_only

__all__ = ["DriverActivity", "driver_action", "driver_activities"]

_KW = inspect.Parameter.KEYWORD_ONLY
_DRIVER_ARGUMENTS = ("configuration", "secrets")
_ACCESS_PARAMETERS = [
    inspect.Parameter("region", _KW, default=None, annotation="str | None"),
    inspect.Parameter("role", _KW, default=None, annotation="str | None"),
    inspect.Parameter("endpoint_url", _KW, default=None, annotation="str | None"),
    inspect.Parameter(
        "request_timeout",
        _KW,
        default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
        annotation="float",
    ),
    inspect.Parameter("credentials", _KW, default=None, annotation="Credential | None"),
]
_ACCESS_NAMES = frozenset(p.name for p in _ACCESS_PARAMETERS)
_ACCESS_DOC = """

Kallisti access: `region` (else AWS_REGION on the worker); optional `role` to
assume (its session is named after the trial) and `endpoint_url`. AWS
credentials come from the worker's environment, shared config or instance
role; a step `credentials` is refused (InvalidCredentialType)."""

_step_session: ContextVar[AwsStep | None] = ContextVar(
    "kallisti_aws_step_session", default=None
)
_install_lock = threading.Lock()


def _step_client(resource_name: str, *_args: Any, **_kwargs: Any) -> Any:
    step = _step_session.get()
    if step is None:
        raise RuntimeError(
            "chaostoolkit-aws was called outside a Kallisti aws step; Kallisti never "
            "builds clients from boto3's default session."
        )
    return step.client(resource_name)


def _use_step_clients() -> None:
    """Point every loaded driver module's ``aws_client`` at `_step_client`.

    Idempotent; all modules at once, because drivers call one another across
    modules (``ec2.actions`` uses ``ec2.probes``).
    """
    with _install_lock:
        for name, module in list(sys.modules.items()):
            if (
                name.startswith("chaosaws.")
                and "aws_client" in vars(module)
                and module.aws_client is not _step_client
            ):
                module.aws_client = _step_client  # type: ignore[attr-defined]


class DriverActivity:
    """One chaostoolkit-aws activity: its service, name and driver module."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        # chaosaws.<service>.actions / .probes (s3 also has controls.upload)
        self.service = module.split(".")[1]
        # By module, not by the discovery's type: a read is only trusted as a
        # read when the driver files it with its probes.
        self.changes = not module.endswith(".probes")


def driver_activities() -> list[DriverActivity]:
    """Every action and probe chaostoolkit-aws's own discovery lists, in its
    order (its experiment controls are not steps)."""
    from chaosaws import load_exported_activities

    return [
        DriverActivity(activity["mod"], activity["name"])
        for activity in load_exported_activities()
        if activity["type"] in ("action", "probe")
    ]


def driver_action(activity: DriverActivity) -> Any:
    """Wrap `activity` as a step action on the step's own AWS session."""
    driver = getattr(importlib.import_module(activity.module), activity.name)
    own = [
        p.replace(kind=_KW)
        for p in inspect.signature(driver).parameters.values()
        if p.name not in _DRIVER_ARGUMENTS
    ]
    # ssm.send_command has its own `region`: the step's serves both.
    shared = _ACCESS_NAMES & {p.name for p in own}
    parameters = [*own, *(p for p in _ACCESS_PARAMETERS if p.name not in shared)]
    if activity.changes:
        parameters.append(
            inspect.Parameter("dry_run", _KW, default=False, annotation="bool")
        )
    parameters.append(inspect.Parameter("step_context", _KW, annotation="StepContext"))
    signature = inspect.Signature(parameters)
    doing = f"{activity.service}.{activity.name}"

    def action(**arguments: Any) -> Any:
        signature.bind(**arguments)
        step_context: StepContext = arguments.pop("step_context")
        dry_run = bool(arguments.pop("dry_run", False))
        credentials: Credential | None = arguments.pop("credentials", None)
        access = AwsAccess(
            **{
                k: (arguments[k] if k in shared else arguments.pop(k))
                for k in list(arguments)
                if k in _ACCESS_NAMES
            }
        )
        step = open_step(access, credentials, step_context, dry_run=dry_run)
        _use_step_clients()
        token = _step_session.set(step)
        try:
            result = driver(**arguments, configuration={"aws_region": step.region})
        except StepError:
            raise
        except Exception as err:
            if dry_run and step.held_back:
                # The driver went on with the made-up answer of a held-back
                # call and tripped over it: the changes are logged already.
                step_context.log(
                    f"Dry run: {doing} stopped after the changes above; it needs "
                    "their real answers to go on."
                )
                return None
            failure = aws_failure(err, step, doing)
            if failure is None:
                raise
            raise failure from err
        finally:
            _step_session.reset(token)
        if dry_run:
            if not step.held_back:
                step_context.log(f"Dry run: {doing} found nothing it would change.")
            return None
        return jsonable(result)

    doc = inspect.cleandoc(driver.__doc__ or "").strip()
    action.__name__ = action.__qualname__ = activity.name
    action.__doc__ = f"{doc}\n\n(chaostoolkit-aws {activity.module}){_ACCESS_DOC}"
    action.__module__ = __name__
    action.__signature__ = signature  # type: ignore[attr-defined]
    return action if activity.changes else read_only(action)
