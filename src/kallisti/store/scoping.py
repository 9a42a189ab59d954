"""Label scopes: which experiments (and so which trials and schedules) a caller
may see, decided by one label of the experiment's `metadata`.

The rule, the same in SQL and in Python: an experiment is in a scope when its
`metadata[label]` is a JSON *string* equal to one of the scope's values. A
number, a list, a missing label or an empty scope never match, so a caller
without a scope sees nothing. A trial belongs to its experiment's current
label (the experiment row, never the trial's own metadata, which a caller
chooses, nor its snapshot), as its schedules do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kallisti.store.tables import experiments

__all__ = ["LabelScope", "experiment_in_scope"]


@dataclass(frozen=True)
class LabelScope:
    """Limit reads and changes to experiments whose `metadata[label]` is one of
    `values`. `None` in place of a scope means unrestricted."""

    label: str
    values: frozenset[str]

    def admits(self, labels: Mapping[str, Any]) -> bool:
        """Whether an experiment carrying `labels` (its metadata) is in scope."""
        value = labels.get(self.label)
        return isinstance(value, str) and value in self.values


def experiment_in_scope(dialect: str, scope: LabelScope) -> sa.ColumnElement[bool]:
    """The SQL condition on `experiments` matching `LabelScope.admits`.

    The type test keeps both databases alike: SQLite's `json_extract` and
    PostgreSQL's `->>` would otherwise disagree on a number such as `5`.
    """
    if not scope.values:
        return sa.false()
    value = experiments.c.metadata[scope.label]
    if dialect == "postgresql":
        is_string = sa.func.jsonb_typeof(value) == "string"
    else:
        # The label is checked at start-up (letters, digits, `_.:-`).
        path = f'$."{scope.label}"'
        is_string = sa.func.json_type(experiments.c.metadata, path) == "text"
    matches: sa.ColumnElement[bool] = is_string & value.as_string().in_(
        sorted(scope.values)
    )
    return matches
