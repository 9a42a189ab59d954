"""/api/v1/experiment over real HTTP: create, list and page, read, replace,
update, soft delete, with and without a trailing slash."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from support import wait_for_trial

EXPERIMENTS = "/api/v1/experiment"
WAIT = {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}}
PROBE = {
    "step": "Health",
    "do": "cm.http_probe",
    "where": {"url": "http://127.0.0.1:1/health"},
    "expect": [{"operator": "eq", "status_code": 200}],
}


def _experiment_body(**fields: Any) -> dict[str, Any]:
    return {"name": f"exp-{uuid.uuid4().hex[:8]}", "steps": [WAIT], **fields}


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post(EXPERIMENTS, json=_experiment_body(**fields))
    assert response.status_code == 201, response.text
    return _stored(response.json())


def _stored(answer: dict[str, Any]) -> dict[str, Any]:
    """A change's answer without its `warnings` (A1): what a read returns."""
    return {key: value for key, value in answer.items() if key != "warnings"}


def _next_link(response: httpx.Response) -> str | None:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def test_create_answers_201_with_the_fields_an_id_and_the_anonymous_creator(
    api: httpx.Client,
) -> None:
    body = _experiment_body(
        description="Kill a pod, check the service.",
        metadata={"team": "sre", "labels": {"tier": 1}},
        parameters={"ns": "default"},
        pre_steps=[WAIT],
        steps=[PROBE, WAIT],
        post_steps=[WAIT],
    )

    response = api.post(EXPERIMENTS, json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    uuid.UUID(created["id"])
    assert created["created_by"] == "anonymous_user"
    for field in ("name", "description", "metadata", "parameters"):
        assert created[field] == body[field]
    assert created["steps"][0]["do"] == "cm.http_probe"
    assert created["steps"][0]["expect"] == PROBE["expect"]
    assert [len(created[s]) for s in ("pre_steps", "steps", "post_steps")] == [1, 2, 1]


def test_create_fills_optional_fields_with_empty_values(api: httpx.Client) -> None:
    created = _create(api)

    # Kallisti answers a missing description as "" (its model has no null).
    assert created["description"] == ""
    assert created["metadata"] == created["parameters"] == {}
    assert created["pre_steps"] == created["post_steps"] == []


def test_list_is_a_bare_array_holding_the_created_experiment(
    api: httpx.Client,
) -> None:
    created = _create(api)

    response = api.get(EXPERIMENTS)

    assert response.status_code == 200
    listed = response.json()
    assert isinstance(listed, list)
    assert created in listed


def test_list_without_paging_returns_the_whole_list_and_its_total(
    api: httpx.Client,
) -> None:
    _create(api)

    response = api.get(EXPERIMENTS)

    assert int(response.headers["x-total-count"]) == len(response.json())
    assert "link" not in response.headers


def test_list_pages_with_limit_and_offset_and_links_the_next_page(
    api: httpx.Client,
) -> None:
    mine = [_create(api)["id"] for _ in range(3)]
    total = int(api.get(EXPERIMENTS, params={"limit": 1}).headers["x-total-count"])

    first = api.get(EXPERIMENTS, params={"limit": 2, "offset": total - 3})

    assert first.status_code == 200
    assert int(first.headers["x-total-count"]) == total
    assert [e["id"] for e in first.json()] == mine[:2]
    next_url = _next_link(first)
    assert next_url is not None
    last = api.get(next_url)
    assert [e["id"] for e in last.json()] == mine[2:]
    assert _next_link(last) is None


def test_read_returns_the_experiment(api: httpx.Client) -> None:
    created = _create(api, metadata={"owner": "me"})

    response = api.get(f"{EXPERIMENTS}/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_put_replaces_the_fields_given_and_keeps_those_left_out(
    api: httpx.Client,
) -> None:
    # As Kallisti 1.3.7 (its serializer's optional fields have no default, so
    # a PUT leaves them as stored): checked against the real one.
    created = _create(
        api, description="old", metadata={"a": 1}, pre_steps=[WAIT], post_steps=[WAIT]
    )
    replacement = {
        "name": "renamed",
        "steps": [PROBE],
        "parameters": {"p": "v"},
        "post_steps": [],
    }

    response = api.put(f"{EXPERIMENTS}/{created['id']}", json=replacement)

    assert response.status_code == 200, response.text
    replaced = _stored(response.json())
    assert replaced["id"] == created["id"]
    assert replaced["name"] == "renamed"
    assert replaced["parameters"] == {"p": "v"}
    assert [s["do"] for s in replaced["steps"]] == ["cm.http_probe"]
    assert replaced["post_steps"] == []
    kept = ("description", "metadata", "pre_steps")
    assert {f: replaced[f] for f in kept} == {f: created[f] for f in kept}
    assert api.get(f"{EXPERIMENTS}/{created['id']}").json() == replaced


def test_put_needs_a_complete_body(api: httpx.Client) -> None:
    created = _create(api)

    response = api.put(f"{EXPERIMENTS}/{created['id']}", json={"name": "only"})

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["steps"]


def test_patch_changes_only_the_given_fields(api: httpx.Client) -> None:
    created = _create(api, description="keep me", metadata={"a": 1})

    response = api.patch(
        f"{EXPERIMENTS}/{created['id']}",
        json={"name": "patched", "parameters": {"x": 2}},
    )

    assert response.status_code == 200, response.text
    patched = _stored(response.json())
    assert patched["name"] == "patched"
    assert patched["parameters"] == {"x": 2}
    unchanged = ("description", "metadata", "steps", "pre_steps", "post_steps")
    assert {f: patched[f] for f in unchanged} == {f: created[f] for f in unchanged}
    assert api.get(f"{EXPERIMENTS}/{created['id']}").json() == patched


def test_patch_may_clear_the_description_with_an_empty_string(
    api: httpx.Client,
) -> None:
    created = _create(api, description="to clear")

    response = api.patch(f"{EXPERIMENTS}/{created['id']}", json={"description": ""})

    assert response.status_code == 200
    assert response.json()["description"] == ""


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "description",
        "steps",
        "metadata",
        "parameters",
        "pre_steps",
        "post_steps",
    ],
)
def test_patch_refuses_null_for_a_field_that_cannot_be_empty(
    api: httpx.Client, field: str
) -> None:
    created = _create(api)

    response = api.patch(f"{EXPERIMENTS}/{created['id']}", json={field: None})

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert api.get(f"{EXPERIMENTS}/{created['id']}").json() == created


def test_a_null_description_is_400_naming_it_on_post_and_put(
    api: httpx.Client,
) -> None:
    # As Kallisti's serializer: blank allowed, null not (PATCH above alike).
    created = _create(api)
    body: dict[str, Any] = {"name": "nulled", "steps": [], "description": None}

    posted = api.post(EXPERIMENTS, json=body)
    put = api.put(f"{EXPERIMENTS}/{created['id']}", json=body)

    for response in (posted, put):
        assert response.status_code == 400, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["description"]
    assert api.get(f"{EXPERIMENTS}/{created['id']}").json() == created


def test_delete_hides_the_experiment_from_lists_but_not_from_reads_by_id(
    api: httpx.Client,
) -> None:
    created = _create(api)
    path = f"{EXPERIMENTS}/{created['id']}"

    response = api.delete(path)

    assert response.status_code == 204
    assert response.content == b""
    # As Kallisti: by id, a deleted experiment is still there.
    assert api.get(path).json() == created
    assert created["id"] not in [e["id"] for e in api.get(EXPERIMENTS).json()]
    assert api.delete(path).status_code == 204
    assert api.get(path).json() == created


def test_trials_of_a_deleted_experiment_stay_readable_but_leave_the_lists(
    api: httpx.Client,
) -> None:
    created = _create(api)
    trial = api.post("/api/v1/trial", json={"experiment": created["id"]}).json()
    wait_for_trial(api, trial["id"])

    assert api.delete(f"{EXPERIMENTS}/{created['id']}").status_code == 204

    read = api.get(f"/api/v1/trial/{trial['id']}")
    assert read.status_code == 200
    assert read.json()["status"] == "Succeeded"
    by_experiment = {"experiment": created["id"]}
    assert api.get("/api/v1/trial", params=by_experiment).json() == []
    assert trial["id"] not in [t["id"] for t in api.get("/api/v1/trial").json()]
    page = api.get("/api/v1/trial", params={"limit": 1})
    listed = api.get("/api/v1/trial").json()
    assert page.headers["X-Total-Count"] == str(len(listed))  # the deleted left out
    with_deleted = api.get(
        "/api/v1/trial", params={**by_experiment, "include_deleted": "true"}
    )
    assert [t["id"] for t in with_deleted.json()] == [trial["id"]]


def test_a_trial_runs_the_experiment_as_it_was_when_the_trial_started(
    api: httpx.Client,
) -> None:
    slow = {"step": "Slow", "do": "cm.wait", "where": {"time_in_seconds": 0.5}}
    created = _create(api, steps=[slow, WAIT])
    trial = api.post("/api/v1/trial", json={"experiment": created["id"]}).json()

    replaced = api.put(
        f"{EXPERIMENTS}/{created['id']}", json=_experiment_body(steps=[PROBE])
    )
    deleted = api.delete(f"{EXPERIMENTS}/{created['id']}")

    assert (replaced.status_code, deleted.status_code) == (200, 204)
    done = wait_for_trial(api, trial["id"])
    assert done["status"] == "Succeeded"
    assert len(done["trial_record"]["steps"]) == 2


def test_a_trial_cannot_start_from_a_deleted_experiment(api: httpx.Client) -> None:
    created = _create(api)
    api.delete(f"{EXPERIMENTS}/{created['id']}")

    response = api.post("/api/v1/trial", json={"experiment": created["id"]})

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["experiment"]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_unknown_id_is_404(api: httpx.Client, method: str) -> None:
    body = _experiment_body() if method in ("PUT", "PATCH") else None

    response = api.request(method, f"{EXPERIMENTS}/{uuid.uuid4()}", json=body)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", [EXPERIMENTS, f"{EXPERIMENTS}/"])
def test_list_and_create_answer_with_and_without_a_trailing_slash(
    api: httpx.Client, path: str
) -> None:
    created = api.post(path, json=_experiment_body(), follow_redirects=False)
    listed = api.get(path, follow_redirects=False)

    assert created.status_code == 201
    assert listed.status_code == 200
    assert _stored(created.json()) in listed.json()


def test_one_experiment_answers_with_a_trailing_slash(api: httpx.Client) -> None:
    created = _create(api)
    path = f"{EXPERIMENTS}/{created['id']}/"

    read = api.get(path, follow_redirects=False)
    patched = api.patch(path, json={"name": "slash"}, follow_redirects=False)
    deleted = api.delete(path, follow_redirects=False)

    assert (read.status_code, patched.status_code, deleted.status_code) == (
        200,
        200,
        204,
    )
