"""Trial-creation hooks named in the settings see (and may amend or refuse)
each trial request made through the API, as Kallisti's creation hooks did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kallisti.domain.errors import Conflict
from kallisti.domain.models import TrialCreate
from support import ServiceThread, service_settings


def stamp_ticket(request: TrialCreate) -> TrialCreate:
    if request.metadata.get("refuse"):
        raise Conflict("Trials need an approved change ticket.")
    return request.model_copy(update={"ticket": {"type": "CHG", "number": "42"}})


@pytest.fixture(scope="module")
def hooked_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    database: Path = tmp_path_factory.mktemp("hooks") / "kallisti.db"
    settings = service_settings(
        f"sqlite:///{database}",
        trial_creation_hooks=[f"{__name__}:stamp_ticket"],
        run_worker=False,
    )
    thread = ServiceThread(settings).start()
    with httpx.Client(base_url=thread.url) as client:
        yield client
    thread.stop()


def _experiment(client: httpx.Client) -> str:
    response = client.post(
        "/api/v1/experiment",
        json={
            "name": "hooked",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        },
    )
    return str(response.json()["id"])


def test_a_creation_hook_amends_the_trial_request(hooked_api: httpx.Client) -> None:
    trial = hooked_api.post(
        "/api/v1/trial", json={"experiment": _experiment(hooked_api)}
    )

    assert trial.status_code == 201
    assert trial.json()["ticket"] == {"type": "CHG", "number": "42"}


def test_a_creation_hook_can_refuse_a_trial(hooked_api: httpx.Client) -> None:
    experiment = _experiment(hooked_api)
    refused = hooked_api.post(
        "/api/v1/trial", json={"experiment": experiment, "metadata": {"refuse": True}}
    )

    assert refused.status_code == 403
    assert "change ticket" in refused.json()["message"]
    listed = hooked_api.get("/api/v1/trial", params={"experiment": experiment}).json()
    assert listed == []
