"""What a notification says about a completed trial: an e-mail and a JSON payload.

Nothing secret goes out: the trial record was masked when it was written, and the
trial's parameters, metadata and ticket pass through `mask_secret_fields` here
(parameters are left out of e-mails altogether).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from kallisti.domain.models import TrialPublic, TrialStatus
from kallisti.domain.record import SECTIONS, result_lines
from kallisti.domain.secrets import mask_secret_fields

__all__ = ["TRIAL_COMPLETED", "build_email", "build_payload"]

TRIAL_COMPLETED = "trial.completed"

# Header values must be one line; subjects stay short.
_MAX_SUBJECT_NAME = 120


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat().replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _trial_link(public_url: str | None, trial: TrialPublic) -> str | None:
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/api/v1/trial/{trial.id}"


def build_payload(
    trial: TrialPublic, experiment_name: str, public_url: str | None = None
) -> dict[str, Any]:
    """The JSON body POSTed to webhooks when `trial` completes."""
    return {
        "event": TRIAL_COMPLETED,
        "trial": {
            "id": str(trial.id),
            "experiment": str(trial.experiment),
            "experiment_name": experiment_name,
            "status": trial.status.value,
            "succeeded": trial.status is TrialStatus.SUCCEEDED,
            "executed_at": None
            if trial.executed_at is None
            else _when(trial.executed_at),
            "completed_at": (
                None if trial.completed_at is None else _when(trial.completed_at)
            ),
            "initiated_by": trial.initiated_by,
            "initiated_from": trial.initiated_from,
            "schedule_id": None
            if trial.schedule_id is None
            else str(trial.schedule_id),
            "parameters": mask_secret_fields(trial.parameters),
            "metadata": mask_secret_fields(trial.metadata),
            "ticket": mask_secret_fields(trial.ticket),
            "result": result_lines(trial.trial_record),
            "url": _trial_link(public_url, trial),
        },
    }


def build_email(
    trial: TrialPublic,
    experiment_name: str,
    *,
    sender: str,
    recipients: list[str],
    public_url: str | None = None,
    report_title: str = "Kallisti Report",
) -> EmailMessage:
    """The e-mail sent to the configured addresses when `trial` completes."""
    name = _one_line(experiment_name)[:_MAX_SUBJECT_NAME] or str(trial.experiment)
    message = EmailMessage()
    message["Subject"] = f"[Kallisti] Trial {trial.status.value}: {name}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-Kallisti-Trial"] = str(trial.id)
    lines = [
        f"The trial of '{_one_line(experiment_name)}' completed: {trial.status.value}.",
        "",
        f"Trial:          {trial.id}",
        f"Experiment:     {trial.experiment}",
        f"Status:         {trial.status.value}",
        f"Executed at:    {_when(trial.executed_at)}",
        f"Completed at:   {_when(trial.completed_at)}",
        f"Initiated by:   {trial.initiated_by} (from {trial.initiated_from})",
    ]
    if trial.schedule_id is not None:
        lines.append(f"Schedule:       {trial.schedule_id}")
    metadata = mask_secret_fields(trial.metadata)
    if metadata:
        lines.append(
            "Metadata:       " + ", ".join(f"{k}={v}" for k, v in metadata.items())
        )
    result = result_lines(trial.trial_record)
    if result:
        lines += ["", "Result:", *(f"  {line}" for line in result)]
    failed = _failed_steps(trial.trial_record)
    if failed:
        lines += ["", "Failed steps:", *failed]
    link = _trial_link(public_url, trial)
    lines += [
        "",
        f"Full record: {link}"
        if link
        else f"Full record: GET /api/v1/trial/{trial.id}",
    ]
    lines.append(f"Report: GET /api/v1/report?trial-id={trial.id} ({report_title})")
    message.set_content("\n".join(lines) + "\n")
    return message


def _failed_steps(record: dict[str, Any]) -> list[str]:
    found = []
    for section in SECTIONS:
        for index, entry in enumerate(record.get(section, []), start=1):
            errors = [line for line in entry.get("logs", []) if "- ERROR]" in line]
            if errors:
                found.append(
                    f"  {section}[{index}] {entry.get('step_name', '')}: {errors[-1]}"
                )
    return found
