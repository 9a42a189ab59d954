"""What the API hides in its answers: values under secret-naming keys in
experiment steps, parameters and metadata, and in trial parameters, metadata
and ticket; parameters templated into a secret's place. A PUT/PATCH that sends
a mask back keeps the stored value (see `restore_masked`)."""

from __future__ import annotations

from typing import Any

import orjson

from kallisti.domain.models import ExperimentPublic, TrialPublic, stored_experiment
from kallisti.domain.record import SECTIONS
from kallisti.domain.secret_parameters import mask_parameters, secret_parameter_names
from kallisti.domain.secrets import mask_secret_fields

__all__ = [
    "masked_experiment",
    "masked_experiment_data",
    "masked_trial",
    "masked_trial_json",
    "masked_trials_json",
]


def masked_experiment(experiment: ExperimentPublic) -> ExperimentPublic:
    data = experiment.model_dump()
    _mask_experiment_data(data)
    return stored_experiment(data)


def masked_experiment_data(experiment: ExperimentPublic) -> dict[str, Any]:
    """`masked_experiment` as the JSON data of its answer, without building
    (and validating) the model again."""
    data = experiment.model_dump(mode="json")
    _mask_experiment_data(data)
    return data


def _mask_experiment_data(data: dict[str, Any]) -> None:
    wheres = [step["where"] for section in SECTIONS for step in data[section]]
    data["parameters"] = mask_parameters(
        data["parameters"], secret_parameter_names(data["parameters"], wheres)
    )
    data["metadata"] = mask_secret_fields(data["metadata"])
    for section in SECTIONS:
        for step in data[section]:
            step["where"] = mask_secret_fields(step["where"])


def masked_trial(trial: TrialPublic) -> TrialPublic:
    return trial.model_copy(
        update={
            "parameters": mask_secret_fields(trial.parameters),
            "metadata": mask_secret_fields(trial.metadata),
            "ticket": mask_secret_fields(trial.ticket),
        }
    )


_MASKED_TRIAL_FIELDS = ("parameters", "metadata", "ticket")


def masked_trials_json(trials: list[dict[str, Any]]) -> bytes:
    """The JSON array of these plain trials (`TrialRepository.list_plain`), each
    masked as `masked_trial` masks it: the same bytes as the models would give.
    The dicts are masked in place."""
    for trial in trials:
        _mask_plain_trial(trial)
    return _plain_json(trials)


def masked_trial_json(trial: dict[str, Any]) -> bytes:
    """`masked_trials_json` of one plain trial (`TrialRepository.get_plain`)."""
    _mask_plain_trial(trial)
    return _plain_json(trial)


def _mask_plain_trial(trial: dict[str, Any]) -> None:
    for field in _MASKED_TRIAL_FIELDS:
        if trial[field]:
            trial[field] = mask_secret_fields(trial[field])


def _plain_json(value: object) -> bytes:
    # orjson writes what the models write (NaN and infinities as null), and
    # the stored JSON a plain trial holds unparsed (`orjson.Fragment`).
    return orjson.dumps(value)
