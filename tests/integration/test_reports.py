"""GET /report over real HTTP on SQLite and PostgreSQL: Kallisti's XML with its
stylesheet, JUnit XML, HTML; filters; secrets and unsafe text."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kallisti.store import Store
from kallisti.store.tables import trials
from support import ProbeTarget, wait_for_trial

XSL = "{http://www.w3.org/1999/XSL/Transform}"
HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<?xml-stylesheet type="text/xsl" href="#reportstyle"?>'
    "<!DOCTYPE report [<!ATTLIST xsl:stylesheet id    ID  #REQUIRED>]><report>"
)
SECRET_PASSWORD = "hunter2-very-secret"
SECRET_TOKEN = "tok-0123456789-secret"


def _experiment(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/experiment", json={"name": "report me", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _run(api: httpx.Client, experiment_id: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/api/v1/trial", json={"experiment": experiment_id, **fields})
    assert created.status_code == 201, created.text
    return wait_for_trial(api, created.json()["id"])


def _probe_experiment(
    api: httpx.Client, target: ProbeTarget, **fields: Any
) -> dict[str, Any]:
    return _experiment(
        api,
        description="Probe, then wait; clean up after.",
        metadata={"team": "sre"},
        steps=[
            {
                "step": "Health check",
                "do": "cm.http_probe",
                "where": {"url": f"{target.url}/health"},
            },
            {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}},
        ],
        post_steps=[
            {"step": "Clean up", "do": "cm.wait", "where": {"time_in_seconds": 0}}
        ],
        **fields,
    )


def _xml(api: httpx.Client, **params: str) -> tuple[httpx.Response, ET.Element]:
    response = api.get("/api/v1/report", params=params)
    assert response.status_code == 200, response.text
    return response, ET.fromstring(response.content)


def test_xml_report_of_a_trial_has_kallistis_layout_and_stylesheet(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = _probe_experiment(api, probe_target)
    trial = _run(api, experiment["id"], metadata={"run": "1"})

    response, report = _xml(api, **{"trial-id": trial["id"]})

    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith(HEADER)
    stylesheet = report[0]
    assert stylesheet.tag == f"{XSL}stylesheet"
    assert stylesheet.get("id") == "reportstyle"
    assert report.findtext("report-title") == "Kallisti Report"
    (item,) = report.findall("root/list-item")
    assert [child.tag for child in item] == [
        "id",
        "name",
        "description",
        "metadata",
        "parameters",
        "pre_steps",
        "steps",
        "post_steps",
        "trials",
    ]
    assert item.findtext("name") == "report me"
    assert item.findtext("steps/list-item/do") == "cm.http_probe"
    (trial_item,) = item.findall("trials/list-item")
    assert trial_item.findtext("id") == trial["id"]
    assert trial_item.findtext("status") == "Succeeded"
    assert trial_item.findtext("metadata/run") == "1"
    assert trial_item.findtext("executed_at") == trial["executed_at"].replace(
        "+00:00", "Z"
    )
    record = trial_item.find("trial_record")
    assert record is not None
    assert [s.findtext("step_name") for s in record.findall("steps/list-item")] == [
        "Http probe",
        "Wait",
    ]
    first_logs = [
        line.text for line in record.findall("steps/list-item[1]/logs/list-item")
    ]
    assert first_logs[0] is not None and first_logs[0].endswith(
        "Starting command execution."
    )
    assert (
        record.findtext("steps/list-item/step_parameters/url")
        == f"{probe_target.url}/health"
    )
    result = [
        line.text or "" for line in record.findall("result/list-item/logs/list-item")
    ]
    assert result[-1].endswith("Trial Completed.")
    assert record.find("post_steps/list-item/logs") is not None


def test_report_of_an_unknown_trial_is_404(api: httpx.Client) -> None:
    response = api.get(
        "/api/v1/report", params={"trial-id": "00000000-0000-4000-8000-000000000000"}
    )
    assert response.status_code == 404


def test_report_of_an_unknown_experiment_is_404(api: httpx.Client) -> None:
    response = api.get(
        "/api/v1/report", params={"experiment": "00000000-0000-4000-8000-000000000000"}
    )
    assert response.status_code == 404


def test_unknown_report_format_is_a_400_naming_it(api: httpx.Client) -> None:
    response = api.get("/api/v1/report", params={"format": "pdf"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "format"


def test_whole_report_covers_live_experiments_only(api: httpx.Client) -> None:
    kept = _experiment(api, steps=[{"do": "cm.wait", "where": {"time_in_seconds": 0}}])
    gone = _experiment(api, steps=[{"do": "cm.wait", "where": {"time_in_seconds": 0}}])
    api.delete(f"/api/v1/experiment/{gone['id']}").raise_for_status()

    _, report = _xml(api)

    ids = {item.findtext("id") for item in report.findall("root/list-item")}
    assert kept["id"] in ids
    assert gone["id"] not in ids


def test_a_deleted_experiments_trial_still_has_its_report(api: httpx.Client) -> None:
    experiment = _experiment(
        api, steps=[{"do": "cm.wait", "where": {"time_in_seconds": 0}}]
    )
    trial = _run(api, experiment["id"])
    api.delete(f"/api/v1/experiment/{experiment['id']}").raise_for_status()

    _, report = _xml(api, **{"trial-id": trial["id"]})

    assert report.findtext("root/list-item/trials/list-item/id") == trial["id"]


def test_filters_narrow_the_trials_by_experiment_status_and_time(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = _probe_experiment(api, probe_target)
    succeeded = _run(api, experiment["id"])
    probe_target.status = 503
    failed = _run(api, experiment["id"])
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    _, only_failed = _xml(api, experiment=experiment["id"], status="Failed")
    _, everything = _xml(api, experiment=experiment["id"])
    _, none_yet = _xml(api, experiment=experiment["id"], created_after=future)
    _, before = _xml(
        api, experiment=experiment["id"], created_before=failed["created_at"]
    )

    def trial_ids(report: ET.Element) -> list[str | None]:
        return [
            t.findtext("id") for t in report.findall("root/list-item/trials/list-item")
        ]

    assert trial_ids(only_failed) == [failed["id"]]
    assert trial_ids(everything) == [succeeded["id"], failed["id"]]
    assert none_yet.findall("root/list-item") == []
    assert trial_ids(before) == [succeeded["id"]]


def _secret_experiment(api: httpx.Client, target: ProbeTarget) -> dict[str, Any]:
    return _experiment(
        api,
        parameters={"api_token": SECRET_TOKEN},
        steps=[
            {
                "do": "cm.http_probe",
                "where": {
                    "url": f"{target.url}/login",
                    "method": "POST",
                    "request_body": {"user": "ops", "password": SECRET_PASSWORD},
                    "headers": {"X-Api-Token": "{{ api_token }}"},
                },
            }
        ],
    )


@pytest.mark.parametrize("format_", ["xml", "junit", "html"])
def test_secrets_never_appear_in_a_report(
    api: httpx.Client, probe_target: ProbeTarget, format_: str
) -> None:
    experiment = _secret_experiment(api, probe_target)
    trial = _run(api, experiment["id"], parameters={"db_password": SECRET_PASSWORD})

    response = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": format_}
    )

    assert response.status_code == 200
    assert SECRET_PASSWORD not in response.text
    assert SECRET_TOKEN not in response.text
    assert "*****" in response.text


UNSAFE = 'a <b>bold</b> & "quoted" ]]> bell\x07 escape\x1b[31m'


@pytest.mark.parametrize("format_", ["xml", "junit"])
def test_unsafe_text_and_keys_still_make_well_formed_xml(
    api: httpx.Client, format_: str
) -> None:
    experiment = _experiment(
        api,
        name=f"unsafe {UNSAFE}",
        description=UNSAFE,
        metadata={"my key": UNSAFE, "1st": "one", "xmlish": "x", "ok_key": "fine"},
        steps=[{"step": UNSAFE, "do": "cm.wait", "where": {"time_in_seconds": 0}}],
    )
    trial = _run(api, experiment["id"])

    response = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": format_}
    )
    document = ET.fromstring(response.content)

    assert "\x07" not in response.text and "\x1b" not in response.text
    assert "\\x07" in response.text
    if format_ == "xml":
        metadata = document.find("root/list-item/metadata")
        assert metadata is not None
        # PostgreSQL (JSONB) keeps keys in its own order.
        keys = sorted((child.tag, child.get("key") or "") for child in metadata)
        assert keys == [
            ("entry", "1st"),
            ("entry", "my key"),
            ("entry", "xmlish"),
            ("ok_key", ""),
        ]
        assert document.findtext("root/list-item/description") == (
            'a <b>bold</b> & "quoted" ]]> bell\\x07 escape\\x1b[31m'
        )
    else:
        assert (document.get("name") or "").startswith("Kallisti Report")


def test_junit_report_has_a_suite_per_trial_and_failures_with_their_logs(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = _probe_experiment(api, probe_target)
    passed = _run(api, experiment["id"])
    probe_target.status = 500
    failed = _run(api, experiment["id"])

    response = api.get(
        "/api/v1/report", params={"experiment": experiment["id"], "format": "junit"}
    )
    suites = ET.fromstring(response.content)

    assert suites.tag == "testsuites"
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == (
        "6",
        "1",
        "1",
    )
    first, second = suites.findall("testsuite")
    assert first.get("id") == passed["id"]
    assert [case.get("name") for case in first.findall("testcase")] == [
        "Step 1: Health check",
        "Step 2: Pause",
        "Post step 1: Clean up",
    ]
    assert first.find("testcase/failure") is None
    assert second.get("id") == failed["id"]
    assert (second.get("failures"), second.get("skipped")) == ("1", "1")
    probe, pause, cleanup = second.findall("testcase")
    failure = probe.find("failure")
    assert failure is not None
    assert "500" in (failure.get("message") or "")
    assert "Starting command execution." in (failure.text or "")
    assert pause.find("skipped") is not None
    assert cleanup.find("failure") is None and cleanup.find("skipped") is None
    properties = {p.get("name"): p.get("value") for p in second.iter("property")}
    assert properties["trial.status"] == "Failed"


def test_junit_marks_an_invalid_trial_as_failed(api: httpx.Client) -> None:
    experiment = _experiment(
        api, steps=[{"do": "cm.wait", "where": {"time_in_seconds": "{{ missing }}"}}]
    )
    trial = _run(api, experiment["id"])
    assert trial["status"] == "Invalid"

    response = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": "junit"}
    )
    suite = ET.fromstring(response.content).find("testsuite")

    assert suite is not None
    assert suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert cases[0].find("skipped") is not None
    assert cases[-1].get("name") == "trial result"
    failure = cases[-1].find("failure")
    assert failure is not None and "missing" in (failure.text or "")


def test_html_report_is_a_page_with_a_timeline_of_each_trial(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = _probe_experiment(api, probe_target, name="timeline <check>")
    trial = _run(api, experiment["id"])

    response = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": "html"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.startswith("<!DOCTYPE html>")
    assert "timeline &lt;check&gt;" in page and "<check>" not in page
    assert f'id="trial-{trial["id"]}"' in page
    assert page.count('class="row passed"') == 3
    assert "Step 1: Health check" in page and "Post step 1: Clean up" in page
    assert "<script" not in page and "http://" not in page.split("<body>")[0]


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
)
@pytest.mark.parametrize("field", ["created_after", "created_before"])
def test_a_time_with_no_utc_form_is_a_400_naming_it(
    api: httpx.Client, field: str, when: str
) -> None:
    response = api.get("/api/v1/report", params={field: when})

    assert response.status_code == 400, response.text
    assert field in response.text


def test_every_report_format_names_steps_as_the_record_does(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = _experiment(
        api,
        steps=[
            {
                "step": "Health check",
                "do": "cm.http_probe",
                "where": {"url": f"{probe_target.url}/health"},
            },
            {"do": "cm.wait", "where": {"time_in_seconds": 0}},
        ],
    )
    trial = _run(api, experiment["id"])
    entries = trial["trial_record"]["steps"]

    junit = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": "junit"}
    )
    html = api.get("/api/v1/report", params={"trial-id": trial["id"], "format": "html"})
    _, xml = _xml(api, **{"trial-id": trial["id"], "format": "xml"})

    # The record keeps Kallisti's `step_name` and adds the author's title (A1).
    assert [(e["step_name"], e.get("step")) for e in entries] == [
        ("Http probe", "Health check"),
        ("Wait", None),
    ]
    suite = ET.fromstring(junit.content).find("testsuite")
    assert suite is not None
    assert [case.get("name") for case in suite.findall("testcase")] == [
        "Step 1: Health check",
        "Step 2: Wait",
    ]
    assert "Step 1: Health check" in html.text and "Step 2: Wait" in html.text
    recorded = xml.findall(
        "root/list-item/trials/list-item/trial_record/steps/list-item"
    )
    assert [item.findtext("step_name") for item in recorded] == ["Http probe", "Wait"]
    assert [item.findtext("step") for item in recorded] == ["Health check", None]


def test_junit_and_html_take_step_names_from_the_record_not_the_snapshot(
    api: httpx.Client, store: Store
) -> None:
    # As a trial imported from Kallisti: its record has no titles, while the
    # experiment's snapshot does; the record says what ran.
    experiment = _experiment(
        api, steps=[{"step": "Planned title", "do": "cm.wait", "where": {}}]
    )
    trial_id, now = str(uuid.uuid4()), datetime.now(UTC)
    entry = {"step_name": "Wait", "step_parameters": {}, "logs": []}
    with store.engine.begin() as conn:
        conn.execute(
            trials.insert().values(
                id=trial_id,
                experiment_id=experiment["id"],
                experiment_snapshot=experiment,
                parameters={},
                metadata={},
                ticket={},
                status="Succeeded",
                trial_record={"steps": [entry]},
                initiated_by="anonymous_user",
                initiated_from="api",
                created_at=now,
                executed_at=now,
                completed_at=now,
            )
        )

    junit = api.get("/api/v1/report", params={"trial-id": trial_id, "format": "junit"})
    html = api.get("/api/v1/report", params={"trial-id": trial_id, "format": "html"})

    suite = ET.fromstring(junit.content).find("testsuite")
    assert suite is not None
    assert [case.get("name") for case in suite.findall("testcase")] == ["Step 1: Wait"]
    assert "Step 1: Wait" in html.text
