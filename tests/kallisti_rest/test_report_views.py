"""Ported from kallisti-core tests/kallisticore/views/test_report.py and
tests/kallisticore/serializers/test_report_serializer.py (1.3.7).

Kallisti's report is XML only: `response.data` (what `ReportSerializer` gives)
is read back from the XML its renderer writes, where a dict key is an element,
a list item a `<list-item>` and an empty value an empty element. Expected
values go through the same reading (`_as_rendered`) before they are compared.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from kallisti_objects import Api

REPORT = "/api/v1/report"
ITEM = "list-item"


def _read(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == ITEM for child in children):
        return [_read(child) for child in children]
    return {child.tag: _read(child) for child in children}


def _as_rendered(value: Any) -> Any:
    """`value` as it reads back from Kallisti's XML."""
    if isinstance(value, dict):
        return {key: _as_rendered(item) for key, item in value.items()} or ""
    if isinstance(value, list):
        return [_as_rendered(item) for item in value] or ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _report(client: httpx.Client, query: str = "") -> list[Any]:
    response = client.get(REPORT + query)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content).find("root")
    assert root is not None
    data = _read(root)
    return data if isinstance(data, list) else []


def _report_of(experiment: dict[str, Any], trials: list[dict[str, Any]]) -> Any:
    """`ReportSerializer(experiment).data`, from the API's answers."""
    fields = [
        *("id", "name", "description", "metadata", "parameters"),
        *("pre_steps", "steps", "post_steps"),
    ]
    expected = {field: experiment[field] for field in fields}
    expected["trials"] = [
        {
            "id": trial["id"],
            "parameters": trial["parameters"],
            "metadata": trial["metadata"],
            "ticket": trial["ticket"],
            "status": trial["status"],
            "trial_record": trial["trial_record"],
            "executed_at": trial["executed_at"],
            "completed_at": trial["completed_at"],
            "initiated_by": trial["initiated_by"],
            "initiated_from": trial["initiated_from"],
            "records": str(trial["trial_record"]),
        }
        for trial in trials
    ]
    return _as_rendered(expected)


# views/test_report.py: TestQueryParam.test_trial_id_query_param
def test_trial_id_query_param(kallisti: httpx.Client) -> None:
    document = kallisti.get("/swagger.json").json()
    parameters = document["paths"][REPORT]["get"]["parameters"]
    trial_id_query_param = next(p for p in parameters if p["name"] == "trial-id")

    assert trial_id_query_param["name"] == "trial-id"
    assert trial_id_query_param["in"] == "query"
    assert trial_id_query_param["description"] == (
        "[Optional] A UUID string identifying a trial to get report for the trial"
    )
    # OpenAPI 3 keeps the type under `schema` (Kallisti's Swagger 2: `type`).
    assert {"type": "string"} in trial_id_query_param["schema"]["anyOf"]


# views/test_report.py: TestReportAPI.test_list_report_empty_experiment
def test_list_report_empty_experiment(kallisti: httpx.Client) -> None:
    assert _report(kallisti) == []


# views/test_report.py: TestReportAPI.test_list_report_experiments_without_trials
def test_list_report_experiments_without_trials(
    kallisti: httpx.Client, objects: Api
) -> None:
    experiment1 = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )
    experiment2 = objects.create_experiment(
        name="stop-my-web-cf-app", description="DR experiment"
    )

    response_data = _report(kallisti)

    assert len(response_data) == 2
    assert _report_of(experiment1, []) in response_data
    assert _report_of(experiment2, []) in response_data


# views/test_report.py: TestReportAPI.test_list_report_experiments_with_trials
def test_list_report_experiments_with_trials(
    kallisti: httpx.Client, objects: Api
) -> None:
    experiment = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )
    trial = objects.create_trial(experiment)

    response_data = _report(kallisti)

    assert len(response_data) == 1
    expected = _report_of(experiment, [trial])
    assert expected in response_data
    assert expected["trials"][0]["id"] == response_data[0]["trials"][0]["id"]


# views/test_report.py: TestReportAPI.test_get_report_by_trial_id
def test_get_report_by_trial_id(kallisti: httpx.Client, objects: Api) -> None:
    experiment_1 = objects.create_experiment(
        name="test-experiment-1", description="Test experiment 1."
    )
    # make sure report is generated only for only corresponding experiment
    objects.create_experiment(
        name="test-experiment-2", description="Test experiment 2."
    )
    trial = objects.create_trial(experiment_1)
    query_param = f"?trial-id={trial['id']}"
    # make sure report is generated only for only specified trial
    objects.create_trial(experiment_1)

    response_data = _report(kallisti, query_param)

    expected = _report_of(experiment_1, [trial])
    assert len(response_data) == 1
    assert expected in response_data
    assert expected["trials"][0]["id"] == response_data[0]["trials"][0]["id"]


PARAMETERS = {"space": "dev", "app_name": "hello-world", "org": "MY-ORG"}
PRE_STEPS = [
    {
        "step": "name",
        "do": "cm.http_probe",
        "where": {"url": "https://hello-world.test.com"},
    }
]
STEPS = [{"do": "cf.stop_app", "where": {"space": "test", "app_name": "hello-world"}}]
POST_STEPS = [
    {
        "do": "cf.start_app",
        "where": {"space": "dev", "app_name": "hello-world", "org": "MY-ORG"},
    }
]
NAME = "kill-hello-world-cf-app-instance"
DESCRIPTION = "detailed text description"


@pytest.fixture
def reported(objects: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """TestReportSerializer.setUp: an experiment and a trial whose record is
    `{"steps": {}}`."""
    experiment = objects.create_experiment(
        name=NAME,
        description=DESCRIPTION,
        parameters=PARAMETERS,
        pre_steps=PRE_STEPS,
        steps=STEPS,
        post_steps=POST_STEPS,
    )
    trial = objects.create_trial(experiment)
    objects.set_trial(trial, trial_record={"steps": {}})
    return experiment, trial


def _check_experiment(data: dict[str, Any]) -> None:
    assert len(data) == 9
    assert data["id"] is not None
    assert data["name"] == NAME
    assert data["description"] == DESCRIPTION
    assert data["pre_steps"] == _as_rendered(PRE_STEPS)
    assert data["steps"] == _as_rendered(STEPS)
    assert data["post_steps"] == _as_rendered(POST_STEPS)
    assert data["parameters"] == _as_rendered(PARAMETERS)


# serializers/test_report_serializer.py: test_report_serialization
def test_report_serialization(
    kallisti: httpx.Client, reported: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    data = _report(kallisti)[0]

    _check_experiment(data)
    assert data["trials"][0]["trial_record"] == _as_rendered({"steps": {}})
    assert data["trials"][0]["status"] == "Scheduled"
    assert data["trials"][0]["executed_at"] == _as_rendered(None)


# serializers/test_report_serializer.py: test_report_serialization_with_query_param
def test_report_serialization_with_query_param(
    kallisti: httpx.Client,
    objects: Api,
    reported: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    experiment, trial = reported
    # make sure serialized experiment has only specified trial
    objects.create_trial(experiment)

    data = _report(kallisti, f"?trial-id={trial['id']}")[0]

    _check_experiment(data)
    assert len(data["trials"]) == 1
    assert data["trials"][0]["trial_record"] == _as_rendered({"steps": {}})
    assert data["trials"][0]["status"] == "Scheduled"
    assert data["trials"][0]["executed_at"] == _as_rendered(None)


# serializers/test_report_serializer.py: test_report_serialization_with_metadata
def test_report_serialization_with_metadata(
    kallisti: httpx.Client,
    objects: Api,
    reported: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    experiment = objects.create_experiment(
        name=NAME,
        description=DESCRIPTION,
        parameters=PARAMETERS,
        metadata={"example_meta": "123456"},
        pre_steps=PRE_STEPS,
        steps=STEPS,
        post_steps=POST_STEPS,
    )
    trial = objects.create_trial(experiment, metadata={"trial_data": "hello_world"})

    data = _report(kallisti, f"?trial-id={trial['id']}")[0]

    _check_experiment(data)
    assert data["metadata"] == _as_rendered({"example_meta": "123456"})
    assert len(data["trials"]) == 1
    assert data["trials"][0]["status"] == "Scheduled"
    assert data["trials"][0]["executed_at"] == _as_rendered(None)
    assert data["trials"][0]["metadata"] == _as_rendered(
        {"example_meta": "123456", "trial_data": "hello_world"}
    )


# The report's trial-id also answers to trial_id.
def test_trial_id_works_like_trial_hyphen_id(
    kallisti: httpx.Client, reported: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, trial = reported

    assert _report(kallisti, f"?trial_id={trial['id']}") == _report(
        kallisti, f"?trial-id={trial['id']}"
    )


# A browser asking for the report (no `format`) gets the HTML page; API
# clients keep Kallisti's XML.
def test_a_browser_gets_the_html_report_and_other_clients_the_xml(
    kallisti: httpx.Client, reported: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    browser = kallisti.get(
        REPORT, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    client = kallisti.get(REPORT, headers={"Accept": "*/*"})

    assert browser.headers["content-type"].startswith("text/html")
    assert client.headers["content-type"].startswith("application/xml")
