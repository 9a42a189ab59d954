"""Which parameters hold secrets: those with a secret-naming name, and those a
step template puts where a secret goes (under a secret-naming `where` key, in a
URL's `user:pass@` or a `?token=` value, inside `Bearer {{ pw }}`).

Their values are masked wherever they land: the trial's parameters in API
answers, reports and notifications, and every line of the trial record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kallisti.domain.secrets import (
    MASK,
    is_secret_key,
    mask_secret_fields,
    secret_field_values,
)
from kallisti.domain.templating import Templates

__all__ = ["mask_parameters", "secret_parameter_names", "secret_parameter_values"]


def _sentinel(index: int) -> str:
    # Letters and digits only, so a filter such as `upper` keeps it findable.
    return f"kallistisecretprobe{index:06d}x"


def secret_parameter_names(
    parameters: Mapping[str, Any], wheres: Iterable[Any]
) -> set[str]:
    """The names of `parameters` whose values are secret, given the steps'
    `where` objects they are templated into."""
    if not parameters:
        return set()  # nothing to look for: no step need be rendered
    names = {str(name) for name in parameters if is_secret_key(str(name))}
    probes = {_sentinel(index): str(name) for index, name in enumerate(parameters)}
    templates = Templates({name: probe for probe, name in probes.items()})
    for where in wheres:
        try:
            rendered = templates.render(where)
        except Exception:  # a template that cannot render hides nothing here
            continue
        for value in secret_field_values(rendered):
            lowered = value.lower()
            names.update(name for probe, name in probes.items() if probe in lowered)
    return names


def _everything_masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _everything_masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_everything_masked(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    return MASK


def mask_parameters(parameters: Mapping[str, Any], secret: Iterable[str]) -> Any:
    """`parameters` with secret-naming keys masked and every value named in
    `secret` masked whole."""
    names = set(secret)
    masked = mask_secret_fields(dict(parameters))
    return {
        key: _everything_masked(value) if key in names else value
        for key, value in masked.items()
    }


def secret_parameter_values(
    parameters: Mapping[str, Any], names: Iterable[str]
) -> list[str]:
    """The scalar values of the parameters named in `names`, at any depth."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            found.append(str(value))

    for name in names:
        if name in parameters:
            walk(parameters[name])
    return found
