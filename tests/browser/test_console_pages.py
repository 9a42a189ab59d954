"""Console pages besides the live trial: the editor's checks, lists with
filters and pages, schedules read in plain English, reports, soft delete, the
home page's pictures, and axe-core finding no serious accessibility problem."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from console_page import Console, ExperimentMaker
from playwright.sync_api import expect

from support import wait_for_trial

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

WAIT = {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}}


def test_editor_checks_json_and_schema_as_you_type_and_shows_api_refusals(
    console: Console,
) -> None:
    page = console.open("#/experiments/new")
    editor = page.get_by_label("Experiment (JSON)")
    problems = page.locator("#experiment-problems")

    # The seed page's example has a trailing comma: the editor says where, and fixes it.
    editor.fill('{"name": "x", "steps": [{"do": "cm.wait", "where": {"a": 1,}}]}')
    expect(problems).to_contain_text("Not valid JSON")
    expect(problems).to_contain_text("line 1")
    page.get_by_role("button", name="Remove trailing commas").click()
    expect(problems).to_contain_text("Valid experiment.")

    editor.fill(json.dumps({"name": "", "steps": [{"do": "cm.wait"}], "owner": 1}))
    expect(problems).to_contain_text("name: must not be empty")
    expect(problems).to_contain_text("steps.0.where: is required")
    expect(problems).to_contain_text("owner: is not a field of this object")
    console.shot("schema-problems")

    # What only the API knows (the shape of `do`) comes back inline, by field.
    editor.fill(json.dumps({"name": "Bad do", "steps": [{"do": "wait", "where": {}}]}))
    expect(problems).to_contain_text("Valid experiment.")
    page.get_by_role("button", name="Create experiment").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("The API refused the experiment")
    expect(refusal).to_contain_text("steps.0.do")


def test_experiment_is_edited_then_soft_deleted(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(steps=[WAIT])
    page = console.open(f"#/experiments/{experiment['id']}")
    page.get_by_role("link", name="Edit").click()
    editor = page.get_by_label("Experiment (JSON)")
    document = json.loads(editor.input_value())
    assert "id" not in document and "created_by" not in document
    document["description"] = "Edited in the console"
    editor.fill(json.dumps(document))
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Edited in the console")).to_be_visible()

    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete this experiment?")
    dialog.get_by_role("button", name="Delete experiment").click()

    expect(page.get_by_role("heading", level=1, name="Experiments")).to_be_visible()
    assert api.get(f"/api/v1/experiment/{experiment['id']}").status_code in (200, 404)
    listed = [e["id"] for e in api.get("/api/v1/experiment").json()]
    assert experiment["id"] not in listed


def test_experiments_list_searches_text_and_filters_by_metadata(
    console: Console, make_experiment: ExperimentMaker
) -> None:
    tag = uuid.uuid4().hex[:6]
    make_experiment(
        name=f"Kill pods {tag}", metadata={"team": "payments"}, steps=[WAIT]
    )
    make_experiment(name=f"Kill nodes {tag}", metadata={"team": "search"}, steps=[WAIT])
    page = console.open("#/experiments")

    page.get_by_label("Search").fill(tag)
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Metadata labels").fill("team=payments")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Kill pods {tag}")
    assert "labels=team%3Dpayments" in page.url or "labels=team=payments" in page.url


def test_trials_list_filters_by_status_and_pages_newest_first(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(steps=[WAIT])
    ids = []
    for _ in range(21):
        trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
        ids.append(trial["id"])
    for trial_id in ids:
        wait_for_trial(api, trial_id)
    page = console.open(f"#/trials?experiment={experiment['id']}")

    expect(page.get_by_role("status").filter(has_text="21 trials")).to_be_visible()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(ids[-1][:8])
    page.get_by_role("button", name="Older").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ids[0][:8])
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()

    page.get_by_label("Status").select_option("Failed")
    expect(page.get_by_role("status").filter(has_text="0 trials")).to_be_visible()
    assert "status=Failed" in page.url


def test_schedule_is_read_in_plain_english_with_its_next_five_runs(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(steps=[WAIT])
    page = console.open(f"#/experiments/{experiment['id']}")
    page.get_by_role("link", name="New schedule").click()

    page.get_by_label("Cron pattern").fill("30 9 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/London")
    reading = page.locator("#schedule-reading")
    expect(reading).to_contain_text("every weekday at 09:30, Europe/London")
    expect(reading.locator("ol li")).to_have_count(5)
    page.get_by_label("Cron pattern").fill("61 * * * *")
    expect(reading).to_contain_text("pattern")
    page.get_by_label("Cron pattern").fill("30 9 * * 1-5")
    expect(reading).to_contain_text("every weekday at 09:30")
    console.shot("schedule")
    page.get_by_label("Number of trials").fill("3")
    page.get_by_role("button", name="Create schedule").click()

    expect(
        page.get_by_role("link", name=re.compile("every weekday at 09:30"))
    ).to_be_visible()
    schedules = api.get(f"/api/v1/experiment/{experiment['id']}/schedule").json()
    assert [
        (s["recurrence_pattern"], s["timezone"], s["recurrence_count"])
        for s in schedules
    ] == [("30 9 * * 1-5", "Europe/London", 3)]
    page.get_by_role("link", name="Home").click()
    expect(page.locator("ol.next-scheduled")).to_contain_text(experiment["name"])

    # Listed on the Schedules page (one request for every schedule, not one
    # per experiment); edited there (pattern and count).
    before = len(console.requests)
    page.get_by_role("link", name="Schedules", exact=True).click()
    row = page.locator("table.list tbody tr", has_text=experiment["name"])
    expect(row).to_be_visible()
    asked = [urlsplit(u).path for u in console.requests[before:]]
    assert asked.count("/api/v1/schedule") == 1, asked
    assert not [p for p in asked if p.endswith("/schedule") and "/experiment/" in p]
    row.get_by_role("link", name=re.compile("every weekday at 09:30")).click()
    page.get_by_label("Cron pattern").fill("0 6 * * *")
    expect(reading).to_contain_text("every day at 06:00, Europe/London")
    page.get_by_label("Number of trials").fill("")
    page.get_by_role("button", name="Save schedule").click()
    expect(
        page.get_by_role("link", name=re.compile("every day at 06:00"))
    ).to_be_visible()
    schedules = api.get(f"/api/v1/experiment/{experiment['id']}/schedule").json()
    assert [(s["recurrence_pattern"], s["recurrence_count"]) for s in schedules] == [
        ("0 6 * * *", None)
    ]


def test_report_downloads_for_the_chosen_filter(
    console: Console,
    api: httpx.Client,
    make_experiment: ExperimentMaker,
    tmp_path: Path,
) -> None:
    experiment = make_experiment(steps=[WAIT])
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    wait_for_trial(api, trial["id"])
    page = console.open("#/reports")
    page.get_by_label("Experiment").select_option(experiment["id"])
    page.get_by_label("JUnit XML (for CI systems)").check()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download report").click()

    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = saved.read_text()
    assert "<testsuite" in text and trial["id"] in text
    with page.expect_download() as html_download:
        page.goto(f"{console.base_url}/ui#/trials/{trial['id']}")
        page.get_by_role(
            "button", name="Download the HTML report of this trial"
        ).click()
    assert html_download.value.suggested_filename.endswith(".html")


def test_home_page_shows_running_failed_and_history_pictures(
    console: Console,
    api: httpx.Client,
    make_experiment: ExperimentMaker,
) -> None:
    failing = make_experiment(
        steps=[{"step": "Boom", "do": "cm.no_such_action", "where": {}}]
    )
    failed = api.post("/api/v1/trial", json={"experiment": failing["id"]}).json()
    assert wait_for_trial(api, failed["id"])["status"] == "Failed"
    slow = make_experiment(
        steps=[{"step": "Hold", "do": "cm.wait", "where": {"time_in_seconds": 60}}]
    )
    running = api.post("/api/v1/trial", json={"experiment": slow["id"]}).json()
    wait_for_trial(api, running["id"], until=lambda t: t["status"] == "In Progress")
    try:
        page = console.open()
        expect(page.locator("section", has_text="Running now")).to_contain_text(
            slow["name"]
        )
        expect(
            page.locator("section", has_text="Failed in the last 24 hours")
        ).to_contain_text(failing["name"])
        expect(
            page.get_by_role("img", name=re.compile("last 24 hours"))
        ).to_be_visible()
        console.shot("home")

        page.goto(f"{console.base_url}/ui#/experiments/{failing['id']}")
        chart = page.get_by_role("img", name=re.compile("Status and duration"))
        expect(chart).to_be_visible()
        expect(page.locator("figure.chart figcaption")).to_contain_text("1 Failed")
    finally:
        api.put(f"/api/v1/trial/{running['id']}/stop")
        wait_for_trial(api, running["id"])


@pytest.mark.parametrize(
    "fragment",
    ["", "#/experiments", "#/experiments/new", "#/trials", "#/schedules", "#/reports"],
)
def test_pages_have_no_serious_accessibility_violations(
    console: Console, fragment: str
) -> None:
    console.open(fragment)

    assert console.serious_accessibility_violations() == []


def test_experiment_trial_and_schedule_pages_have_no_serious_violations(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(steps=[WAIT], parameters={"qty": 1})
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    wait_for_trial(api, trial["id"])
    for fragment in (
        f"#/experiments/{experiment['id']}",
        f"#/trials/{trial['id']}",
        f"#/experiments/{experiment['id']}/schedules/new",
    ):
        page = console.open(fragment)
        expect(page.locator(".loading")).to_have_count(0)
        assert console.serious_accessibility_violations() == [], fragment


def test_keyboard_alone_reaches_run_and_stop(
    console: Console, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(
        steps=[{"step": "Hold", "do": "cm.wait", "where": {"time_in_seconds": 60}}]
    )
    page = console.open(f"#/experiments/{experiment['id']}")
    run = page.get_by_role("button", name="Run", exact=True)
    for _ in range(40):
        page.keyboard.press("Tab")
        if run.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Run button")
    page.keyboard.press("Enter")
    stop = page.get_by_role("button", name="Stop trial")
    expect(stop).to_be_enabled()
    for _ in range(20):
        page.keyboard.press("Tab")
        if stop.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Stop button")
    page.keyboard.press("Enter")
    expect(page.locator(".trial-bar .status")).to_have_text("Stopped")


def test_swagger_ui_links_to_the_console(console: Console) -> None:
    page = console.page
    page.goto(f"{console.base_url}/")
    page.get_by_role("link", name="web console").click()

    expect(page.get_by_role("heading", level=1, name="Kallisti")).to_be_visible()
