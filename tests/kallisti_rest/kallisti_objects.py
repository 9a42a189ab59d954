"""Kallisti's model helpers, as the ported tests use them, over the API."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from kallisti.store.tables import trials

__all__ = ["Api"]


class Api:
    """Kallisti's model helpers (`Experiment.create`, `Trial.create`, ...) as
    API calls. What the API cannot do (a trial's status or record set by hand,
    as the originals do with `update_status` and `records=`) is written to the
    database, standing in for the worker."""

    def __init__(self, client: httpx.Client, engine: sa.Engine) -> None:
        self.client = client
        self.engine = engine

    def set_trial(self, trial: dict[str, Any], **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                trials.update().where(trials.c.id == trial["id"]).values(**values)
            )

    def create_experiment(self, **fields: Any) -> dict[str, Any]:
        # Kallisti's `Experiment.create()` needs no name; its API does.
        body: dict[str, Any] = {"name": "experiment", "steps": [], **fields}
        response = self.client.post("/api/v1/experiment", json=body)
        assert response.status_code == 201, response.text
        return _without_warnings(response.json())

    def delete_experiment(self, experiment: dict[str, Any]) -> None:
        response = self.client.delete(f"/api/v1/experiment/{experiment['id']}")
        assert response.status_code == 204, response.text

    def create_trial(self, experiment: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"experiment": experiment["id"], **fields}
        response = self.client.post("/api/v1/trial", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get_trial(self, trial: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.get(f"/api/v1/trial/{trial['id']}").json())

    def create_schedule(
        self, experiment: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/experiment/{experiment['id']}/schedule", json=fields
        )
        assert response.status_code == 201, response.text
        return _without_warnings(response.json())

    def count(self, path: str) -> int:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return len(response.json())


def _without_warnings(answer: dict[str, Any]) -> dict[str, Any]:
    # A1: create and update answers also carry `warnings`; reads do not.
    return {key: value for key, value in answer.items() if key != "warnings"}
