"""Schedule CRUD over real HTTP, on SQLite and PostgreSQL.

The shared service's worker fires schedules by the real clock, so these tests
use a pattern whose next tick is years away (29 February); firing is tested in
test_schedules_firing.py with a clock the test moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

NEVER_SOON = "0 0 29 2 *"


def _experiment(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "scheduled experiment",
        "metadata": {"team": "sre", "tier": "gold"},
        "parameters": {"seconds": 0},
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": "{{ seconds }}"}}],
        **fields,
    }
    response = api.post("/api/v1/experiment", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _schedule(api: httpx.Client, experiment_id: str, **fields: Any) -> httpx.Response:
    body = {"recurrence_pattern": NEVER_SOON, **fields}
    return api.post(f"/api/v1/experiment/{experiment_id}/schedule", json=body)


def test_created_schedule_has_kallistis_fields_and_left_equal_to_count(
    api: httpx.Client,
) -> None:
    experiment = _experiment(api)
    response = _schedule(
        api,
        experiment["id"],
        recurrence_count=3,
        parameters={"seconds": 1},
        ticket={"change": "CHG-1"},
    )

    assert response.status_code == 201, response.text
    schedule = response.json()
    assert schedule["experiment_id"] == experiment["id"]
    assert schedule["recurrence_pattern"] == NEVER_SOON
    assert schedule["recurrence_count"] == 3
    assert schedule["recurrence_left"] == 3
    assert schedule["parameters"] == {"seconds": 1}
    assert schedule["ticket"] == {"change": "CHG-1"}
    assert schedule["created_by"] == "anonymous_user"
    assert schedule["trials"] == []
    assert schedule["timezone"] == "UTC"
    assert datetime.fromisoformat(schedule["next_fire_at"]).strftime("%m-%d %H:%M") == (
        "02-29 00:00"
    )
    assert datetime.fromisoformat(schedule["created_at"]).tzinfo is not None


def test_schedule_without_count_runs_forever(api: httpx.Client) -> None:
    schedule = _schedule(api, _experiment(api)["id"]).json()
    assert schedule["recurrence_count"] is None
    assert schedule["recurrence_left"] is None


def test_schedule_metadata_is_laid_over_the_experiments(api: httpx.Client) -> None:
    experiment = _experiment(api)
    schedule = _schedule(api, experiment["id"], metadata={"tier": "silver"}).json()
    assert schedule["metadata"] == {"team": "sre", "tier": "silver"}


@pytest.mark.parametrize(
    ("pattern", "explanation"),
    [
        ("* * * *", "has 4 field(s)"),
        ("61 * * * *", "is not a valid cron expression"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_invalid_cron_is_a_400_that_names_the_field_and_explains(
    api: httpx.Client, pattern: str, explanation: str
) -> None:
    response = _schedule(api, _experiment(api)["id"], recurrence_pattern=pattern)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["field"] == "recurrence_pattern"
    assert explanation in errors[0]["message"]


def test_unknown_time_zone_is_a_400(api: httpx.Client) -> None:
    response = _schedule(api, _experiment(api)["id"], timezone="Mars/Olympus")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "timezone"


def test_missing_pattern_is_a_400(api: httpx.Client) -> None:
    experiment = _experiment(api)
    response = api.post(f"/api/v1/experiment/{experiment['id']}/schedule", json={})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "recurrence_pattern"


def test_schedule_of_an_unknown_or_deleted_experiment_is_a_404_and_lists_none(
    api: httpx.Client,
) -> None:
    unknown = _schedule(api, "00000000-0000-4000-8000-000000000000")
    experiment = _experiment(api)
    api.delete(f"/api/v1/experiment/{experiment['id']}").raise_for_status()
    deleted = _schedule(api, experiment["id"])
    listed = api.get(f"/api/v1/experiment/{experiment['id']}/schedule")

    assert unknown.status_code == 404
    assert deleted.status_code == 404
    # As Kallisti: the list of a deleted experiment's schedules is empty.
    assert (listed.status_code, listed.json()) == (200, [])


def test_list_and_read_an_experiments_schedules(api: httpx.Client) -> None:
    experiment = _experiment(api)
    first = _schedule(api, experiment["id"]).json()
    second = _schedule(api, experiment["id"], recurrence_pattern="@yearly").json()
    second.pop("warnings")  # A1: change answers carry warnings, reads do not
    other = _schedule(api, _experiment(api)["id"]).json()

    listed = api.get(f"/api/v1/experiment/{experiment['id']}/schedule/")
    one = api.get(f"/api/v1/experiment/{experiment['id']}/schedule/{second['id']}")
    elsewhere = api.get(f"/api/v1/experiment/{experiment['id']}/schedule/{other['id']}")

    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [first["id"], second["id"]]
    assert listed.headers["X-Total-Count"] == "2"
    assert one.json() == second
    assert elsewhere.status_code == 404


def test_put_replaces_the_schedule_and_a_new_count_resets_what_is_left(
    api: httpx.Client,
) -> None:
    experiment = _experiment(api)
    schedule = _schedule(api, experiment["id"], recurrence_count=2).json()
    schedule.pop("warnings")  # A1: change answers carry warnings, reads do not
    url = f"/api/v1/experiment/{experiment['id']}/schedule/{schedule['id']}"

    replaced = api.put(
        url,
        json={**schedule, "recurrence_count": 5, "parameters": {"seconds": 2}},
    )

    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["recurrence_count"] == 5
    assert body["recurrence_left"] == 5
    assert body["parameters"] == {"seconds": 2}
    assert body["created_at"] == schedule["created_at"]
    assert body.pop("warnings") == []
    assert api.get(url).json() == body


def test_patch_changes_only_the_fields_given(api: httpx.Client) -> None:
    experiment = _experiment(api)
    schedule = _schedule(
        api, experiment["id"], recurrence_count=2, ticket={"change": "CHG-9"}
    ).json()
    url = f"/api/v1/experiment/{experiment['id']}/schedule/{schedule['id']}"

    patched = api.patch(url, json={"parameters": {"seconds": 3}})
    forever = api.patch(url, json={"recurrence_count": None})

    assert patched.status_code == 200
    assert patched.json()["parameters"] == {"seconds": 3}
    assert patched.json()["ticket"] == {"change": "CHG-9"}
    assert patched.json()["recurrence_left"] == 2
    assert patched.json()["next_fire_at"] == schedule["next_fire_at"]
    assert forever.json()["recurrence_count"] is None
    assert forever.json()["recurrence_left"] is None


def test_changing_the_time_zone_moves_the_next_tick(api: httpx.Client) -> None:
    experiment = _experiment(api)
    schedule = _schedule(api, experiment["id"]).json()
    url = f"/api/v1/experiment/{experiment['id']}/schedule/{schedule['id']}"

    moved = api.patch(url, json={"timezone": "Asia/Tokyo"}).json()

    assert moved["timezone"] == "Asia/Tokyo"
    # Midnight in Tokyo is 15:00 UTC the day before.
    assert datetime.fromisoformat(moved["next_fire_at"]).strftime("%m-%d %H:%M") == (
        "02-28 15:00"
    )


def test_a_count_of_zero_never_fires(api: httpx.Client) -> None:
    schedule = _schedule(api, _experiment(api)["id"], recurrence_count=0).json()
    assert schedule["recurrence_left"] == 0
    assert schedule["next_fire_at"] is None


def test_deleted_schedule_leaves_the_list_stays_readable_and_never_fires(
    api: httpx.Client,
) -> None:
    experiment = _experiment(api)
    schedule = _schedule(api, experiment["id"]).json()
    url = f"/api/v1/experiment/{experiment['id']}/schedule/{schedule['id']}"

    deleted = api.delete(url)

    assert deleted.status_code == 204
    assert api.get(f"/api/v1/experiment/{experiment['id']}/schedule").json() == []
    # As Kallisti: by id, a deleted schedule is still there (and editable).
    assert api.get(url).status_code == 200
    assert api.get(url).json()["next_fire_at"] is None
    assert api.delete(url).status_code == 204
    changed = api.patch(url, json={"recurrence_count": 1})
    assert changed.status_code == 200
    assert changed.json()["next_fire_at"] is None


def test_schedules_are_deleted_with_their_experiment(api: httpx.Client) -> None:
    experiment = _experiment(api)
    schedule = _schedule(api, experiment["id"]).json()

    api.delete(f"/api/v1/experiment/{experiment['id']}").raise_for_status()

    url = f"/api/v1/experiment/{experiment['id']}/schedule/{schedule['id']}"
    read = api.get(url)
    assert read.status_code == 200
    assert read.json()["next_fire_at"] is None
    assert api.get(f"/api/v1/experiment/{experiment['id']}/schedule").json() == []


def test_schedule_ids_that_are_not_uuids_name_nothing(api: httpx.Client) -> None:
    experiment = _experiment(api)
    response = api.get(f"/api/v1/experiment/{experiment['id']}/schedule/not-a-uuid")
    assert response.status_code == 404


def test_every_schedule_is_listed_in_one_request_with_filters_and_paging(
    api: httpx.Client,
) -> None:
    first, second = _experiment(api), _experiment(api)
    mine = [
        _schedule(api, first["id"]).json(),
        _schedule(api, second["id"], recurrence_count=0).json(),
        _schedule(api, second["id"]).json(),
    ]
    gone = _experiment(api)
    _schedule(api, gone["id"])
    api.delete(f"/api/v1/experiment/{gone['id']}").raise_for_status()

    every = api.get("/api/v1/schedule")
    of_second = api.get("/api/v1/schedule", params={"experiment": second["id"]})
    spent = api.get(
        "/api/v1/schedule", params={"experiment": second["id"], "active": "false"}
    )
    page = api.get("/api/v1/schedule", params={"limit": 1, "offset": 1})

    ids = [s["id"] for s in every.json()]
    assert [ids.index(s["id"]) for s in mine] == sorted(
        ids.index(s["id"]) for s in mine
    )
    assert every.headers["X-Total-Count"] == str(len(ids))
    assert all(s["experiment_id"] != gone["id"] for s in every.json())
    assert [s["id"] for s in of_second.json()] == [mine[1]["id"], mine[2]["id"]]
    assert [s["id"] for s in spent.json()] == [mine[1]["id"]]
    assert [s["id"] for s in page.json()] == [ids[1]]
    assert 'rel="next"' in page.headers["Link"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"active": "perhaps"}, "active"),
        ({"experiment": "nope"}, "experiment"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_bad_schedule_list_query_is_a_400_naming_the_field(
    api: httpx.Client, query: dict[str, Any], field: str
) -> None:
    answer = api.get("/api/v1/schedule", params=query)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
