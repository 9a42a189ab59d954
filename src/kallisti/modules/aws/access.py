"""One step's access to AWS: its own boto3 session, region, optional role.

AWS credentials come from the worker's standard chain (environment, shared
config, instance role), as in Kallisti; endpoints from the standard settings
(``AWS_ENDPOINT_URL`` included) unless the step gives `endpoint_url`. Every
session and client is built for the step alone, never boto3's default
session, so two trials in different regions or roles never share one.

In a dry run each client answers changing calls itself: the driver's reads
(``Describe*``, ``List*``, ``Get*`` …) reach AWS and resolve the targets, and
each change it would make is logged with its parameters instead of sent.
"""

from __future__ import annotations

import datetime
import decimal
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.awsrequest
import botocore.config
import botocore.exceptions
import botocore.loaders
import botocore.session
from chaoslib.exceptions import ActivityFailed, InterruptExecution

from kallisti.credentials import Credential
from kallisti.domain.errors import CredentialError, InvalidArguments, StepFailed
from kallisti.modules.context import Fault, StepContext, target_path

__all__ = [
    "AwsAccess",
    "AwsStep",
    "InvalidCredentialType",
    "aws_failure",
    "jsonable",
    "open_step",
    "stopped_instances_fault",
]

DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
# Operations that only read: a dry run lets them through.
_READ_OPERATION = re.compile(
    r"^(Describe|List|Get|BatchGet|Search|Lookup|Head|Query|Scan|Simulate)[A-Z]"
)
_REFUSED_CREDENTIALS = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
    }
)
_FORBIDDEN = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
)


_loader_lock = threading.Lock()
_loader: list[botocore.loaders.Loader] = []


def new_session(region: str | None, **credentials: str) -> boto3.session.Session:
    """A session of its own (credentials, region, clients), sharing only the
    loader of botocore's service models with the others: the models are
    read-only data, and reading EC2's costs most of a second of CPU each time."""
    with _loader_lock:
        if not _loader:
            _loader.append(botocore.loaders.create_loader())
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader[0])
    return boto3.session.Session(
        botocore_session=core, region_name=region, **credentials
    )


class InvalidCredentialType(CredentialError):
    """Raised when an `aws` step gives a credential: AWS credentials come from
    the worker's environment, as in Kallisti (whose error and text these are)."""

    def __init__(self, credential: Credential) -> None:
        super().__init__(
            "Invalid credential type: Environment variables should be used for AWS "
            f"client config (the step gave a {credential.describe()}; remove "
            "`credentials` and give the worker AWS credentials, or a `role`)."
        )


@dataclass(frozen=True)
class AwsAccess:
    """Where and as whom a step reaches AWS, from its `where`."""

    region: str | None = None
    role: str | None = None
    endpoint_url: str | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS

    def check(self) -> None:
        """Raises `InvalidArguments` naming a malformed access argument."""
        for name in ("region", "role", "endpoint_url"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidArguments(
                    f"`{name}` must be a non-empty string, not {value!r}."
                )
        if self.endpoint_url is not None and not self.endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise InvalidArguments(
                f"`endpoint_url` must be an http(s):// address, not "
                f"{self.endpoint_url!r}."
            )
        timeout = self.request_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidArguments(
                f"`request_timeout` must be a number of seconds, not {timeout!r}."
            )
        if timeout <= 0:
            raise InvalidArguments(
                f"`request_timeout` must be positive, not {timeout!r}."
            )


@dataclass
class AwsStep:
    """One step's boto3 session and the clients the driver asks it for."""

    session: boto3.session.Session
    access: AwsAccess
    who: str
    step_context: StepContext
    dry_run: bool = False
    held_back: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        config = botocore.config.Config(
            connect_timeout=self.access.request_timeout,
            read_timeout=self.access.request_timeout,
            retries={"max_attempts": 2},
        )
        client = self.session.client(
            service, config=config, endpoint_url=self.access.endpoint_url
        )
        if self.dry_run:
            events = client.meta.events
            events.register("before-parameter-build", self._note_change)
            events.register("before-call", self._hold_back)
        elif service == "ec2":
            client.meta.events.register(
                "before-parameter-build.ec2.StopInstances", self._record_stop
            )
        return client

    def _record_stop(self, params: Mapping[str, Any], **_: Any) -> None:
        # Into the fault ledger before the call is sent: a failed write raises
        # here, and nothing is stopped (checked and undone by `aws.undo`).
        instance_ids = [str(i) for i in params.get("InstanceIds") or []]
        if instance_ids:
            self.step_context.record_fault(
                stopped_instances_fault(self.region, instance_ids)
            )

    def _note_change(
        self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not _READ_OPERATION.match(model.name):
            context["kallisti_held_back"] = dict(params)

    def _hold_back(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        params = context.get("kallisti_held_back")
        if params is None:
            return None
        service = model.service_model.service_name
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        call = f"{service}.{model.name}({shown})"
        self.held_back.append(call)
        self.step_context.log(
            f"Dry run: would call {call} in {self.region}; nothing was changed."
        )
        answer = botocore.awsrequest.AWSResponse("", 200, {}, None)
        return answer, {"ResponseMetadata": {"HTTPStatusCode": 200}}


def stopped_instances_fault(region: str, instance_ids: list[str]) -> Fault:
    """The ledger entry of stopping `instance_ids`: undone by starting them."""
    listed = ", ".join(instance_ids)
    return Fault(
        target=",".join(target_path("aws", region, i) for i in instance_ids),
        change=f"EC2 instance(s) {listed} stopped in {region}",
        how=f"start EC2 instance(s) {listed} in {region}",
        undo={"kind": "ec2_stopped", "instance_ids": list(instance_ids)},
    )


def _region_check(session: boto3.session.Session, region: str) -> None:
    known: set[str] = set()
    for partition in session.get_available_partitions():
        known.update(session.get_available_regions("ec2", partition))
    if region not in known:
        raise InvalidArguments(
            f"AWS region {region!r} is unknown; check `region` (e.g. 'eu-west-1')."
        )


def open_step(
    access: AwsAccess,
    credentials: Credential | None,
    step_context: StepContext,
    *,
    dry_run: bool,
) -> AwsStep:
    """The step's session: region checked, role assumed (session name holding the
    trial id), its temporary keys masked in the record.

    Raises `InvalidCredentialType`, `InvalidArguments` or `StepFailed`.
    """
    if credentials is not None:
        raise InvalidCredentialType(credentials)
    access.check()
    try:
        session = new_session(access.region)
    except botocore.exceptions.BotoCoreError as err:
        raise StepFailed(f"AWS configuration on the worker is unusable: {err}") from err
    if not session.region_name:
        raise InvalidArguments(
            "No AWS region: give `region` in `where`, or set AWS_REGION on the worker."
        )
    _region_check(session, session.region_name)
    _mask_worker_keys(session, step_context)
    step = AwsStep(session, access, "the worker's AWS credentials", step_context)
    if access.role:
        step = _assume(step, access.role)
    step.dry_run = dry_run
    return step


def _mask_worker_keys(
    session: boto3.session.Session, step_context: StepContext
) -> None:
    try:
        found = session.get_credentials()
    except botocore.exceptions.BotoCoreError:
        return  # the first call says what is wrong
    if found is not None:
        frozen = found.get_frozen_credentials()
        for secret in (frozen.secret_key, frozen.token):
            if secret:
                step_context.add_secret(secret)


def _assume(step: AwsStep, role: str) -> AwsStep:
    trial = step.step_context.trial_id
    session_name = f"kallisti-{trial}" if trial else "kallisti"
    try:
        answer = step.client("sts").assume_role(
            RoleArn=role, RoleSessionName=session_name
        )
    except Exception as err:
        failure = aws_failure(err, step, "assuming the role")
        if failure is None:
            raise
        raise failure from err
    credentials = answer["Credentials"]
    for secret in (credentials["SecretAccessKey"], credentials["SessionToken"]):
        step.step_context.add_secret(secret)
    assumed = new_session(
        step.session.region_name,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return AwsStep(
        assumed, step.access, f"role {role} (session {session_name})", step.step_context
    )


def aws_failure(err: BaseException, step: AwsStep, doing: str) -> StepFailed | None:
    """The `StepFailed` that explains `err` in one line, or None when it is not an
    AWS or driver error. Never quotes a key: botocore's messages hold none."""
    where = f"in {step.region} with {step.who}"
    if isinstance(err, botocore.exceptions.NoCredentialsError):
        return StepFailed(
            "No AWS credentials on the worker: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or an instance role) where the "
            "worker runs."
        )
    if isinstance(err, botocore.exceptions.ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", "?"))
        message = str(error.get("Message", "")).strip()
        operation = err.operation_name
        if code in _REFUSED_CREDENTIALS:
            return StepFailed(
                f"AWS refused the credentials for {operation} {where}: {code}: "
                f"{message}; check the worker's AWS credentials (or `role`)."
            )
        if code in _FORBIDDEN:
            return StepFailed(
                f"AWS denied {operation} {where}: {code}: {message}; grant the "
                "permission to the worker's identity (or `role`)."
            )
        return StepFailed(f"AWS refused {operation} {where}: {code}: {message}")
    if isinstance(err, botocore.exceptions.EndpointConnectionError | ConnectionError):
        return StepFailed(
            f"AWS is unreachable {where} while {doing}: {err}; check `region`, "
            "`endpoint_url` (or AWS_ENDPOINT_URL) and the worker's network."
        )
    if isinstance(err, botocore.exceptions.ConnectTimeoutError):
        return StepFailed(
            f"AWS did not accept a connection {where} within "
            f"{step.access.request_timeout:g} seconds while {doing}."
        )
    if isinstance(err, botocore.exceptions.ReadTimeoutError):
        return StepFailed(
            f"AWS did not answer {where} within {step.access.request_timeout:g} "
            f"seconds while {doing}; raise `request_timeout`."
        )
    if isinstance(err, botocore.exceptions.BotoCoreError):
        return StepFailed(f"AWS call failed {where} while {doing}: {err}")
    if isinstance(err, ActivityFailed | InterruptExecution):
        lines = str(err).strip().splitlines()
        return StepFailed(f"{doing}: {lines[0] if lines else type(err).__name__}")
    return None


def jsonable(value: Any) -> Any:
    """`value` (a boto3 answer) as plain JSON: times in ISO 8601, numbers as numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
