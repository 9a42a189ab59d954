"""`cf` steps over the REST API against the Cloud Foundry test API (tests/cf_api),
read back from its in-memory state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cf_api import CloudFoundryApi
from cf_api.server import PASSWORD, USERNAME
from module_trials import run_steps, step, step_error, step_logs
from support import wait_for_trial

ORG, SPACE = "chaos-org", "dev"


@pytest.fixture(scope="session")
def _cf_api() -> Iterator[CloudFoundryApi]:
    api = CloudFoundryApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def _cf_tls_api() -> Iterator[CloudFoundryApi]:
    api = CloudFoundryApi(tls=True).start()
    yield api
    api.stop()


@dataclass
class Foundation:
    api: CloudFoundryApi
    org: str
    space: str

    def where(self, **arguments: Any) -> dict[str, Any]:
        return {"cf_api_url": self.api.url, **arguments}


def _foundation(
    _cf_api: CloudFoundryApi, monkeypatch: pytest.MonkeyPatch
) -> Foundation:
    _cf_api.reset()
    org = _cf_api.add_org(ORG)
    space = _cf_api.add_space(SPACE, org)
    web = _cf_api.add_app("web", space, instances=3)
    _cf_api.add_app("worker", space, instances=2)
    _cf_api.add_binding(web, "db")
    _cf_api.add_route("web", space, web)
    monkeypatch.setenv("CF_USERNAME", USERNAME)
    monkeypatch.setenv("CF_PASSWORD", PASSWORD)
    return Foundation(_cf_api, org, space)


@pytest.fixture
def cf(_cf_api: CloudFoundryApi, monkeypatch: pytest.MonkeyPatch) -> Foundation:
    """A fresh foundation: org chaos-org, space dev, apps web (3 instances, bound
    to service db, route web) and worker (2); the worker's CF_USERNAME and
    CF_PASSWORD are the test user's."""
    return _foundation(_cf_api, monkeypatch)


@pytest.fixture
def cf_tls(_cf_tls_api: CloudFoundryApi, monkeypatch: pytest.MonkeyPatch) -> Foundation:
    """The same foundation, served over HTTPS with a certificate of a private CA."""
    return _foundation(_cf_tls_api, monkeypatch)


def _app_step(do: str, cf: Foundation, **arguments: Any) -> dict[str, Any]:
    return step(
        do, cf.where(app_name="web", org_name=ORG, space_name=SPACE, **arguments)
    )


def test_stop_app_stops_it_and_start_app_starts_it(
    api: httpx.Client, cf: Foundation
) -> None:
    stopped = run_steps(api, _app_step("cf.stop_app", cf))

    # Nothing starts it again: the trial fails on the fault left in place.
    assert stopped["status"] == "Failed", stopped["trial_record"]
    (residual,) = stopped["residual_faults"]
    web = cf.api.app("web")
    assert residual["what"] == f"Cloud Foundry app 'web' ({web.guid}) stopped"
    assert cf.api.app("web").state == "STOPPED"
    assert cf.api.app("worker").state == "STARTED"

    started = run_steps(api, _app_step("cf.start_app", cf))

    assert started["status"] == "Succeeded", started["trial_record"]
    assert cf.api.app("web").state == "STARTED"


def test_stop_app_left_stopped_is_started_by_revert_and_one_undone_is_fine(
    api: httpx.Client, cf: Foundation
) -> None:
    left = run_steps(api, _app_step("cf.stop_app", cf))
    assert left["status"] == "Failed"

    reverted = api.post(f"/api/v1/trial/{left['id']}/revert")

    assert reverted.status_code == 200, reverted.text
    assert [r["outcome"] for r in reverted.json()["reverted"]] == ["reverted"]
    assert cf.api.app("web").state == "STARTED"
    undone = run_steps(
        api,
        _app_step("cf.stop_app", cf),
        post_steps=(_app_step("cf.start_app", cf),),
    )
    assert undone["status"] == "Succeeded", undone["trial_record"]
    assert undone["residual_faults"] is None


def test_terminate_app_instance_terminates_that_index(
    api: httpx.Client, cf: Foundation
) -> None:
    trial = run_steps(api, _app_step("cf.terminate_app_instance", cf, instance_index=1))

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert cf.api.app("web").terminated == [1]


def test_random_instance_terminations_pick_among_the_instances(
    api: httpx.Client, cf: Foundation
) -> None:
    trial = run_steps(
        api,
        _app_step("cf.terminate_some_random_instance", cf),
        _app_step("cf.terminate_some_random_instances", cf, count=2),
        step("cf.terminate_random_app_instance", cf.where(org_name=ORG)),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    web, worker = cf.api.app("web"), cf.api.app("worker")
    assert len(web.terminated) + len(worker.terminated) == 4
    assert len(set(web.terminated[1:3])) == 2  # the two of one step differ
    assert set(web.terminated) <= {0, 1, 2} and set(worker.terminated) <= {0, 1}


def test_stop_all_apps_and_start_all_apps_cover_the_org(
    api: httpx.Client, cf: Foundation
) -> None:
    stopped = run_steps(api, step("cf.stop_all_apps", cf.where(org_name=ORG)))

    assert stopped["status"] == "Failed", stopped["trial_record"]
    assert len(stopped["residual_faults"]) == 2
    assert {a.state for a in cf.api.apps.values()} == {"STOPPED"}

    started = run_steps(api, step("cf.start_all_apps", cf.where(org_name=ORG)))

    assert started["status"] == "Succeeded", started["trial_record"]
    assert {a.state for a in cf.api.apps.values()} == {"STARTED"}


def test_unbind_service_and_unmap_route_take_them_from_the_app(
    api: httpx.Client, cf: Foundation
) -> None:
    trial = run_steps(
        api,
        _app_step("cf.unbind_service_from_app", cf, bind_name="db"),
        _app_step("cf.unmap_route_from_app", cf, host_name="web"),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert cf.api.app("web").bindings == {}
    assert cf.api.app("web").routes == set()


def test_probes_read_states_users_orgs_and_spaces(
    api: httpx.Client, cf: Foundation
) -> None:
    user = cf.api.user_guid
    trial = run_steps(
        api,
        step(
            "cf.get_app_states_by_org",
            cf.where(org_name=ORG),
            expect=[
                {"operator": "eq", "[0].name": "web"},
                {"operator": "eq", "[1].state": "STARTED"},
            ],
        ),
        step(
            "cf.get_user_organization_by_name",
            cf.where(user_guid=user, org_name=ORG),
            expect=[{"operator": "eq", "metadata.guid": cf.org}],
        ),
        step(
            "cf.get_user_space_by_organization_and_space_name",
            cf.where(user_guid=user, org_name=ORG, space_name=SPACE),
            expect=[{"operator": "eq", "metadata.guid": cf.space}],
        ),
        _app_step("cf.get_app_stats", cf),
        step(
            "cf.list_apps", cf.where(), expect=[{"operator": "eq", "total_results": 2}]
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert cf.api.changes() == []


def test_dry_run_names_the_app_and_changes_nothing(
    api: httpx.Client, cf: Foundation
) -> None:
    web = cf.api.app("web")

    trial = run_steps(
        api,
        _app_step("cf.stop_app", cf),
        _app_step("cf.terminate_some_random_instances", cf, count=1),
        dry_run=True,
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert (
        f"Dry run: would PUT {cf.api.url}/v2/apps/{web.guid} "
        '{"state": "STOPPED"}; nothing was changed.' in step_logs(trial)
    )
    assert f"Dry run: would DELETE {cf.api.url}/v2/apps/{web.guid}/instances/" in (
        step_logs(trial, 1)
    )
    assert cf.api.changes() == []
    assert web.state == "STARTED" and web.terminated == []


def test_a_refused_login_names_the_credential_never_the_password_or_token(
    api: httpx.Client, cf: Foundation, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = run_steps(api, _app_step("cf.get_app_by_name", cf))
    assert ok["status"] == "Succeeded"
    monkeypatch.setenv("CF_PASSWORD", "wrong-password-value")

    refused = run_steps(api, _app_step("cf.stop_app", cf))

    assert refused["status"] == "Failed"
    assert step_error(refused) == (
        f"Step failed. Type: StepFailed. Error: Cloud Foundry's UAA at {cf.api.url} "
        "refused the login (401 unauthorized) of client 'cf' with the credential of "
        "type ENV_VAR_USERNAME_PASSWORD (username from $CF_USERNAME, password from "
        "$CF_PASSWORD); check the user, the password and `client_id` / "
        "`client_secret`."
    )
    recorded = json.dumps([ok, refused])
    assert PASSWORD not in recorded and "wrong-password-value" not in recorded
    assert cf.api.tokens and not any(token in recorded for token in cf.api.tokens)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            {"app_name": "nope"},
            "Error: stop_app: app 'nope' was not found",
        ),
        (
            {"app_name": "web", "cf_api_url": "http://127.0.0.1:9"},
            "Error: The Cloud Foundry API at http://127.0.0.1:9 is unreachable "
            "(Connection refused); check `cf_api_url`.",
        ),
        (
            {"app_name": "web", "client_id": "someone-else"},
            "refused the login (401 unauthorized) of client 'someone-else'",
        ),
    ],
    ids=["nothing-matched", "unreachable", "client-refused"],
)
def test_cf_failures_are_one_line_naming_the_problem_and_the_fix(
    api: httpx.Client, cf: Foundation, where: dict[str, Any], expected: str
) -> None:
    trial = run_steps(api, step("cf.stop_app", {**cf.where(), **where}))

    assert trial["status"] == "Failed"
    assert expected in step_error(trial)


def test_without_cf_username_on_the_worker_the_credential_error_says_so(
    api: httpx.Client, cf: Foundation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CF_USERNAME")

    trial = run_steps(api, _app_step("cf.stop_app", cf))

    assert trial["status"] == "Failed"
    assert "CF_USERNAME not set on the Kallisti worker" in step_error(trial)
    assert cf.api.requests == []


def test_tls_is_verified_and_a_private_ca_is_trusted_through_the_worker_bundle(
    api: httpx.Client,
    cf_tls: Foundation,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    untrusted = run_steps(api, _app_step("cf.stop_app", cf_tls))

    assert untrusted["status"] == "Failed"
    assert step_error(untrusted).endswith(
        f"Error: TLS verification of the Cloud Foundry API at {cf_tls.api.url} "
        "failed: it does not prove its identity; give its CA to the worker in "
        "REQUESTS_CA_BUNDLE."
    )
    assert cf_tls.api.app("web").state == "STARTED"
    assert cf_tls.api.ca_pem is not None
    bundle = tmp_path / "cf-ca.pem"
    bundle.write_bytes(cf_tls.api.ca_pem)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))

    trusted = run_steps(api, _app_step("cf.stop_app", cf_tls))

    assert trusted["status"] == "Failed", trusted["trial_record"]
    assert len(trusted["residual_faults"]) == 1
    assert cf_tls.api.app("web").state == "STOPPED"


def test_trials_stopping_the_same_app_take_turns_and_another_app_runs_alongside(
    api: httpx.Client, cf: Foundation
) -> None:
    def experiment(app: str) -> str:
        where = cf.where(app_name=app, org_name=ORG, space_name=SPACE)
        answer = api.post(
            "/api/v1/experiment",
            json={
                "name": f"stop {app}",
                "steps": [
                    step("cf.stop_app", where),
                    step("cm.wait", {"time_in_seconds": 1.5}),
                ],
                "post_steps": [step("cf.start_app", where)],
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def start(experiment_id: str) -> str:
        answer = api.post("/api/v1/trial", json={"experiment": experiment_id})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    web = experiment("web")
    first = start(web)
    wait_for_trial(api, first, until=lambda t: bool(t["trial_record"].get("steps")))
    second = start(web)
    waiting = wait_for_trial(api, second, until=lambda t: bool(t["waiting_for"]))
    beside = start(experiment("worker"))
    running = wait_for_trial(
        api, beside, until=lambda t: bool(t["trial_record"].get("steps"))
    )

    assert waiting["status"] == "Scheduled"
    assert f"held by trial {first}" in waiting["waiting_for"]
    assert f"/{ORG}/{SPACE}/web" in waiting["waiting_for"]
    assert running["status"] == "In Progress"
    done = [wait_for_trial(api, t) for t in (first, second, beside)]
    assert [t["status"] for t in done] == ["Succeeded"] * 3
    assert done[1]["executed_at"] >= done[0]["completed_at"]


def test_map_route_delete_app_and_call_api_change_what_they_name(
    api: httpx.Client, cf: Foundation
) -> None:
    worker = cf.api.app("worker")
    trial = run_steps(
        api,
        step(
            "cf.map_route_to_app",
            cf.where(app_name="worker", host_name="web", org_name=ORG),
        ),
        step(
            "cf.call_api",
            cf.where(path="/v2/apps", query={"q": "name:worker"}),
            expect=[{"operator": "eq", "response.total_results": 1}],
        ),
        step("cf.delete_app", cf.where(app_name="worker", org_name=ORG)),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert worker.guid not in cf.api.apps
    assert ("PUT", f"/v2/apps/{worker.guid}/routes/{next(iter(cf.api.routes))}") in (
        cf.api.requests
    )
