"""Label scoping (KALLISTI_AUTH_SCOPE_LABEL=team) over real HTTP with JWTs
signed by the loopback identity provider: a `pay` caller sees, runs, stops,
schedules, reports and edits `team: pay` experiments and their trials, and
meets a 404 `Not found.` for everything of `team: shop`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from identity_provider import IdentityProvider
from support import ServiceThread, running_service, service_settings

LONG_WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 30}}
SCHEDULE = {"recurrence_pattern": "0 3 * * *", "recurrence_count": 1}
NOT_FOUND = {"detail": "Not found."}


@pytest.fixture(scope="module")
def scoped(
    backend: str, database_urls: dict[str, str], identity_provider: IdentityProvider
) -> Iterator[ServiceThread]:
    """The API with JWTs, roles in `roles` and scopes in `team`; no worker, so
    trials stay where the test puts them (unless another test's worker on the
    same database picks them up: the steps wait long enough to be stopped)."""
    settings = service_settings(
        database_urls[backend],
        run_worker=False,
        auth_jwt_token_url="http://127.0.0.1:9/token",
        **identity_provider.service_auth(),
        auth_scope_label="team",
    )
    with running_service(settings) as service:
        yield service


@pytest.fixture
def client(scoped: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=scoped.url, timeout=30, verify=False) as c:
        yield c


class Caller:
    """A client sending one caller's signed token."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._client.request(method, url, headers=self._headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def _caller(
    client: httpx.Client,
    provider: IdentityProvider,
    team: str | list[str] | None,
    role: str = "editor",
) -> Caller:
    claims: dict[str, Any] = {} if team is None else {"team": team}
    token = provider.token(f"{role}-{team}", roles=[role], **claims)
    return Caller(client, token)


def _experiment(caller: Caller, team: object, name: str) -> dict[str, Any]:
    answer = caller.post(
        "/api/v1/experiment",
        json={"name": name, "metadata": {"team": team}, "steps": [LONG_WAIT]},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _trial(caller: Caller, experiment_id: str) -> dict[str, Any]:
    answer = caller.post("/api/v1/trial", json={"experiment": experiment_id})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _stop(caller: Caller, trial_id: str) -> httpx.Response:
    return caller.request("PUT", f"/api/v1/trial/{trial_id}/stop")


def _first_event(caller: Caller, trial_id: str) -> tuple[int, str]:
    with caller._client.stream(
        "GET", f"/api/v1/trial/{trial_id}/events", headers=caller._headers
    ) as answer:
        if answer.status_code != 200:
            answer.read()
            return answer.status_code, answer.text
        for line in answer.iter_lines():
            if line.startswith("data:"):
                return 200, line
    raise AssertionError("the stream ended without an event")


@pytest.fixture
def teams(
    client: httpx.Client, identity_provider: IdentityProvider
) -> Iterator[dict[str, Any]]:
    """A `pay` and a `shop` experiment, each with a trial, and their callers."""
    pay = _caller(client, identity_provider, "pay")
    shop = _caller(client, identity_provider, "shop")
    tag = uuid.uuid4().hex[:8]
    pay_experiment = _experiment(pay, "pay", f"pay-{tag}")
    shop_experiment = _experiment(shop, "shop", f"shop-{tag}")
    shop_trial = _trial(shop, shop_experiment["id"])
    yield {
        "pay": pay,
        "shop": shop,
        "pay_experiment": pay_experiment,
        "shop_experiment": shop_experiment,
        "shop_trial": shop_trial,
    }
    _stop(shop, shop_trial["id"])


def test_a_caller_lists_and_reads_only_its_own_teams_experiments(
    teams: dict[str, Any],
) -> None:
    pay, shop_id = teams["pay"], teams["shop_experiment"]["id"]
    pay_id = teams["pay_experiment"]["id"]

    listed = {e["id"] for e in pay.get("/api/v1/experiment").json()}

    assert pay_id in listed
    assert shop_id not in listed
    assert all(
        e["metadata"].get("team") == "pay" for e in pay.get("/api/v1/experiment").json()
    )
    assert pay.get(f"/api/v1/experiment/{pay_id}").status_code == 200
    hidden = pay.get(f"/api/v1/experiment/{shop_id}")
    assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)
    unknown = pay.get(f"/api/v1/experiment/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


def test_a_caller_cannot_edit_or_delete_another_teams_experiment(
    teams: dict[str, Any],
) -> None:
    pay, shop = teams["pay"], teams["shop"]
    shop_experiment = teams["shop_experiment"]
    url = f"/api/v1/experiment/{shop_experiment['id']}"
    body = {"name": "taken", "metadata": {"team": "pay"}, "steps": [LONG_WAIT]}

    for method, kwargs in (
        ("PATCH", {"json": {"name": "taken"}}),
        ("PATCH", {"json": {"metadata": {"team": "pay"}}}),
        ("PUT", {"json": body}),
        ("DELETE", {}),
    ):
        answer = pay.request(method, url, **kwargs)
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND), method

    still = shop.get(url).json()
    assert (still["name"], still["metadata"]) == (
        shop_experiment["name"],
        {"team": "shop"},
    )
    assert shop_experiment["id"] in {
        e["id"] for e in shop.get("/api/v1/experiment").json()
    }


def test_creating_or_relabelling_out_of_the_callers_scope_is_refused_with_the_reason(
    teams: dict[str, Any],
) -> None:
    pay = teams["pay"]
    pay_url = f"/api/v1/experiment/{teams['pay_experiment']['id']}"

    for metadata in ({"team": "shop"}, {}, {"team": ["pay"]}, {"team": 5}):
        created = pay.post(
            "/api/v1/experiment",
            json={"name": "elsewhere", "metadata": metadata, "steps": [LONG_WAIT]},
        )
        assert created.status_code == 403, metadata
        assert "'team'" in created.json()["detail"]
        assert "'pay'" in created.json()["detail"]
    moved = pay.request("PATCH", pay_url, json={"metadata": {"team": "shop"}})

    assert moved.status_code == 403
    assert "'shop'" in moved.json()["detail"]
    assert pay.get(pay_url).json()["metadata"] == {"team": "pay"}


def test_a_caller_edits_and_deletes_its_own_teams_experiment(
    teams: dict[str, Any],
) -> None:
    pay = teams["pay"]
    url = f"/api/v1/experiment/{teams['pay_experiment']['id']}"

    renamed = pay.request("PATCH", url, json={"name": "renamed"})
    replaced = pay.request(
        "PUT",
        url,
        json={"name": "replaced", "metadata": {"team": "pay"}, "steps": [LONG_WAIT]},
    )
    deleted = pay.request("DELETE", url)

    assert renamed.status_code == 200, renamed.text
    assert replaced.json()["name"] == "replaced"
    assert deleted.status_code == 204


def test_a_caller_cannot_run_stop_read_or_follow_another_teams_trials(
    teams: dict[str, Any],
) -> None:
    pay, shop_trial = teams["pay"], teams["shop_trial"]
    shop_id = teams["shop_experiment"]["id"]

    started = pay.post("/api/v1/trial", json={"experiment": shop_id})
    read = pay.get(f"/api/v1/trial/{shop_trial['id']}")
    stopped = _stop(pay, shop_trial["id"])
    listed = pay.get("/api/v1/trial", params={"experiment": shop_id})
    everything = pay.get("/api/v1/trial", params={"include_deleted": True})

    # The answer of an unknown experiment: nothing says it exists.
    assert started.status_code == 400
    assert "does not exist or has been deleted" in started.text
    assert (read.status_code, read.json()) == (404, NOT_FOUND)
    assert (stopped.status_code, stopped.json()) == (404, NOT_FOUND)
    assert _first_event(pay, shop_trial["id"]) == (404, '{"detail":"Not found."}')
    assert listed.json() == []
    assert shop_trial["id"] not in {t["id"] for t in everything.json()}
    assert teams["shop"].get(f"/api/v1/trial/{shop_trial['id']}").json()["status"] in (
        "Scheduled",
        "In Progress",
    )


def test_a_caller_runs_reads_follows_and_stops_its_own_teams_trials(
    teams: dict[str, Any],
) -> None:
    pay, pay_id = teams["pay"], teams["pay_experiment"]["id"]

    trial = _trial(pay, pay_id)
    listed = pay.get("/api/v1/trial", params={"experiment": pay_id}).json()
    status, event = _first_event(pay, trial["id"])
    stopped = _stop(pay, trial["id"])

    assert [t["id"] for t in listed] == [trial["id"]]
    assert pay.get(f"/api/v1/trial/{trial['id']}").status_code == 200
    assert status == 200 and trial["id"] in event
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] in ("Stopped", "Stop Initiated")


def test_the_trials_own_metadata_does_not_move_it_into_another_scope(
    teams: dict[str, Any],
) -> None:
    shop, pay = teams["shop"], teams["pay"]
    body = {"experiment": teams["shop_experiment"]["id"], "metadata": {"team": "pay"}}
    answer = shop.post("/api/v1/trial", json=body)
    trial_id = answer.json()["id"]

    assert pay.get(f"/api/v1/trial/{trial_id}").status_code == 404
    assert _stop(shop, trial_id).status_code == 200


def test_a_caller_schedules_only_its_own_teams_experiments(
    teams: dict[str, Any],
) -> None:
    pay, shop = teams["pay"], teams["shop"]
    shop_base = f"/api/v1/experiment/{teams['shop_experiment']['id']}/schedule"
    pay_base = f"/api/v1/experiment/{teams['pay_experiment']['id']}/schedule"
    shop_schedule = shop.post(shop_base, json=SCHEDULE).json()
    shop_one = f"{shop_base}/{shop_schedule['id']}"

    for method, url, kwargs in (
        ("GET", shop_base, {}),
        ("POST", shop_base, {"json": SCHEDULE}),
        ("GET", shop_one, {}),
        ("PUT", shop_one, {"json": SCHEDULE}),
        ("PATCH", shop_one, {"json": {"recurrence_count": 2}}),
        ("DELETE", shop_one, {}),
    ):
        answer = pay.request(method, url, **kwargs)
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND), method
    mine = pay.post(pay_base, json=SCHEDULE)

    assert mine.status_code == 201, mine.text
    assert [s["id"] for s in pay.get(pay_base).json()] == [mine.json()["id"]]
    assert (
        pay.request(
            "PATCH", f"{pay_base}/{mine.json()['id']}", json={"recurrence_count": 2}
        ).status_code
        == 200
    )
    assert pay.request("DELETE", f"{pay_base}/{mine.json()['id']}").status_code == 204
    assert shop.get(shop_one).json()["recurrence_count"] == 1


def test_reports_cover_only_the_callers_scope(teams: dict[str, Any]) -> None:
    pay = teams["pay"]
    pay_trial = _trial(pay, teams["pay_experiment"]["id"])
    shop_experiment, shop_trial = teams["shop_experiment"], teams["shop_trial"]

    whole = pay.get("/api/v1/report", params={"format": "junit"})
    by_experiment = pay.get(
        "/api/v1/report", params={"experiment": shop_experiment["id"]}
    )
    by_trial = pay.get("/api/v1/report", params={"trial-id": shop_trial["id"]})
    own = pay.get("/api/v1/report", params={"trial-id": pay_trial["id"]})

    assert whole.status_code == 200
    assert teams["pay_experiment"]["name"] in whole.text
    assert shop_experiment["name"] not in whole.text
    assert shop_trial["id"] not in whole.text
    assert (by_experiment.status_code, by_experiment.json()) == (404, NOT_FOUND)
    assert (by_trial.status_code, by_trial.json()) == (404, NOT_FOUND)
    assert own.status_code == 200 and pay_trial["id"] in own.text
    _stop(pay, pay_trial["id"])


def test_a_caller_without_the_claim_sees_nothing_and_an_admin_sees_all(
    teams: dict[str, Any], client: httpx.Client, identity_provider: IdentityProvider
) -> None:
    nobody = _caller(client, identity_provider, None)
    admin = _caller(client, identity_provider, None, role="admin")
    both = _caller(client, identity_provider, ["pay", "shop"])
    ids = {teams["pay_experiment"]["id"], teams["shop_experiment"]["id"]}

    assert nobody.get("/api/v1/experiment").json() == []
    assert nobody.get("/api/v1/trial").json() == []
    assert nobody.get(f"/api/v1/trial/{teams['shop_trial']['id']}").status_code == 404
    assert ids <= {e["id"] for e in admin.get("/api/v1/experiment").json()}
    assert admin.get(f"/api/v1/trial/{teams['shop_trial']['id']}").status_code == 200
    assert ids <= {e["id"] for e in both.get("/api/v1/experiment").json()}


def test_machine_tokens_below_admin_see_nothing_while_scoping_is_on(
    teams: dict[str, Any], client: httpx.Client, identity_provider: IdentityProvider
) -> None:
    admin = _caller(client, identity_provider, None, role="admin")
    name = f"ci-{uuid.uuid4().hex[:8]}"
    created = admin.post("/api/v1/token", json={"name": name, "role": "operator"})
    assert created.status_code == 201, created.text
    ci = Caller(client, created.json()["token"])

    assert ci.get("/api/v1/experiment").json() == []
    started = ci.post(
        "/api/v1/trial", json={"experiment": teams["pay_experiment"]["id"]}
    )
    assert started.status_code == 400
    admin.request("DELETE", f"/api/v1/token/{name}")


def test_only_a_string_label_matches_on_either_database(
    client: httpx.Client, identity_provider: IdentityProvider
) -> None:
    admin = _caller(client, identity_provider, None, role="admin")
    five = _caller(client, identity_provider, "5")
    numbered = _experiment(admin, 5, f"numbered-{uuid.uuid4().hex[:8]}")
    labelled = _experiment(admin, "5", f"labelled-{uuid.uuid4().hex[:8]}")

    listed = {e["id"] for e in five.get("/api/v1/experiment").json()}

    assert labelled["id"] in listed
    assert numbered["id"] not in listed
    assert five.get(f"/api/v1/experiment/{numbered['id']}").status_code == 404
    assert five.get(f"/api/v1/experiment/{labelled['id']}").status_code == 200


def test_a_caller_holding_both_labels_moves_an_experiment_and_its_trials(
    teams: dict[str, Any], client: httpx.Client, identity_provider: IdentityProvider
) -> None:
    pay, shop = teams["pay"], teams["shop"]
    both = _caller(client, identity_provider, ["pay", "shop"])
    experiment_id = teams["pay_experiment"]["id"]
    trial = _trial(pay, experiment_id)

    moved = both.request(
        "PATCH",
        f"/api/v1/experiment/{experiment_id}",
        json={"metadata": {"team": "shop"}},
    )

    assert moved.status_code == 200, moved.text
    assert pay.get(f"/api/v1/experiment/{experiment_id}").status_code == 404
    assert pay.get(f"/api/v1/trial/{trial['id']}").status_code == 404
    assert shop.get(f"/api/v1/trial/{trial['id']}").status_code == 200
    assert _stop(shop, trial["id"]).status_code == 200


def test_the_session_names_the_callers_scopes(
    client: httpx.Client, identity_provider: IdentityProvider
) -> None:
    pay = _caller(client, identity_provider, ["pay", "ops"])
    admin = _caller(client, identity_provider, None, role="admin")
    nobody = _caller(client, identity_provider, None)

    assert pay.get("/api/v1/session").json()["scopes"] == ["ops", "pay"]
    assert admin.get("/api/v1/session").json()["scopes"] is None
    assert nobody.get("/api/v1/session").json()["scopes"] == []


def test_targets_and_the_schedule_list_keep_to_the_callers_scope(
    teams: dict[str, Any],
) -> None:
    pay, shop = teams["pay"], teams["shop"]
    shop_id, pay_id = teams["shop_experiment"]["id"], teams["pay_experiment"]["id"]
    shop_schedule = shop.post(
        f"/api/v1/experiment/{shop_id}/schedule", json=SCHEDULE
    ).json()
    pay_schedule = pay.post(f"/api/v1/experiment/{pay_id}/schedule", json=SCHEDULE)

    preview = pay.post("/api/v1/experiment/targets", json={"experiment": shop_id})
    trial = pay.get(f"/api/v1/trial/{teams['shop_trial']['id']}/targets")
    listed = {s["id"] for s in pay.get("/api/v1/schedule").json()}

    assert (preview.status_code, preview.json()) == (404, NOT_FOUND)
    assert (trial.status_code, trial.json()) == (404, NOT_FOUND)
    assert pay_schedule.json()["id"] in listed
    assert shop_schedule["id"] not in listed
    own = pay.post("/api/v1/experiment/targets", json={"experiment": pay_id})
    assert own.status_code == 200, own.text
