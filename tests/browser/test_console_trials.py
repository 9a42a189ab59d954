"""The walk-through in the console: create an experiment, run it, watch the
trial live (pushed by the API, not polled), stop it, dry-run it."""

from __future__ import annotations

import json
import re
import uuid

import boto3
import httpx
import pytest
from console_page import Console, ExperimentMaker, experiment_body
from playwright.sync_api import expect

from module_trials import run_steps, step
from support import ProbeTarget, wait_for_trial

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _trial_id(console: Console) -> str:
    match = re.search(r"#/trials/([0-9a-f-]{36})$", console.page.url)
    assert match, console.page.url
    return match.group(1)


def test_newcomer_creates_an_experiment_runs_it_and_reads_the_record(
    console: Console, probe_target: ProbeTarget, api: httpx.Client
) -> None:
    page = console.open()
    page.get_by_role("link", name="Experiments", exact=True).click()
    page.get_by_role("link", name="New experiment").click()
    name = f"Probe the shop {uuid.uuid4().hex[:6]}"
    body = experiment_body(name, probe_target.url)
    page.get_by_label("Experiment (JSON)").fill(json.dumps(body, indent=2))
    expect(page.get_by_text("Valid experiment.")).to_be_visible()
    console.shot("editor")
    page.get_by_role("button", name="Create experiment").click()

    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    page.get_by_label("base_url").fill(probe_target.url)
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.locator(".trial-bar .status")).to_have_text("Succeeded")
    expect(page.locator(".live-state")).to_have_text("Finished")
    timeline = page.locator(".timeline-row")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0).locator(".step-state")).to_have_text("passed")
    expect(page.get_by_text("Trial Completed.")).to_be_visible()
    expect(page.get_by_role("button", name="Stop trial")).to_be_disabled()
    console.shot("trial")
    trial = api.get(f"/api/v1/trial/{_trial_id(console)}").json()
    assert trial["status"] == "Succeeded"
    assert trial["parameters"] == {"base_url": probe_target.url}


def test_live_trial_page_follows_the_pushed_events_and_stop_ends_it(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(
        steps=[
            {"step": "Long pause", "do": "cm.wait", "where": {"time_in_seconds": 60}}
        ],
        post_steps=[
            {"step": "Roll back", "do": "cm.wait", "where": {"time_in_seconds": 0}}
        ],
    )
    page = console.open(f"#/experiments/{experiment['id']}")
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.locator(".trial-bar .status")).to_have_text("In Progress")
    expect(page.locator(".live-state")).to_have_text("Live")
    expect(page.locator(".timeline-row").first.locator(".step-state")).to_have_text(
        "running"
    )
    console.shot("running")
    stop = page.get_by_role("button", name="Stop trial")
    stop.scroll_into_view_if_needed()
    page.mouse.wheel(0, 2000)
    expect(stop).to_be_in_viewport()  # the bar stays in view while scrolling
    stop.click()

    expect(page.locator(".trial-bar .status")).to_have_text("Stopped")
    rows = page.locator(".timeline-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".step-state")).to_have_text("interrupted")
    expect(rows.nth(1).locator(".step-state")).to_have_text("passed")
    console.shot("stopped")
    trial_id = _trial_id(console)
    assert api.get(f"/api/v1/trial/{trial_id}").json()["status"] == "Stopped"
    # Pushed, not polled: the page read the REST record once, then the stream.
    reads = [u for u in console.requests if u.endswith(f"/api/v1/trial/{trial_id}")]
    streams = [u for u in console.requests if u.endswith(f"/trial/{trial_id}/events")]
    assert len(reads) == 1
    assert len(streams) == 1


def test_trial_started_elsewhere_appears_live_step_by_step(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(
        steps=[
            {"step": "First", "do": "cm.wait", "where": {"time_in_seconds": 0.5}},
            {"step": "Second", "do": "cm.wait", "where": {"time_in_seconds": 0.5}},
        ]
    )
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    page = console.open(f"#/trials/{trial['id']}")

    expect(page.locator(".timeline-row")).to_have_count(2)
    expect(page.locator(".trial-bar .status")).to_have_text("Succeeded")
    durations = page.locator(".timeline-duration").all_inner_texts()
    assert all(d.endswith(" s") or d.endswith(" ms") for d in durations), durations


def test_dry_run_shows_what_it_would_touch_and_changes_nothing(
    console: Console,
    api: httpx.Client,
    make_experiment: ExperimentMaker,
    probe_target: ProbeTarget,
) -> None:
    experiment = make_experiment(
        parameters={"shop": probe_target.url, "app": "web", "api_token": "tok-1234"},
        steps=[
            {
                "step": "Drain the shop",
                "do": "cm.http_request",
                "where": {
                    "url": "{{ shop }}/drain",
                    "method": "POST",
                    "headers": {"Authorization": "Bearer {{ api_token }}"},
                },
            },
            {
                "step": "Kill web pods",
                "do": "k8s.terminate_pods",
                "where": {"label_selector": "app={{ app }}", "ns": "shop"},
            },
        ],
    )
    page = console.open(f"#/experiments/{experiment['id']}")
    # Before any trial: what one with these parameters would touch.
    page.get_by_label("app").fill("cart")
    page.get_by_role("button", name="Show targets").click()
    preview = page.get_by_role("table", name="1 target in all")
    expect(preview.get_by_role("row", name=re.compile("Step 2"))).to_contain_text(
        "k8s/in-cluster/shop/selector:app=cart"
    )
    page.get_by_label("app").fill("web")
    page.get_by_role("button", name="Dry run").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("(dry run)")
    expect(page.get_by_text("yes: nothing was changed")).to_be_visible()
    touched = page.locator("section", has_text="What this dry run would touch")
    # Per step, from GET /trial/{id}/targets: what target leases would name.
    table = touched.get_by_role("table", name="1 target in all")
    drain = table.get_by_role("row", name=re.compile("Step 1: Drain the shop"))
    kill = table.get_by_role("row", name=re.compile("Step 2: Kill web pods"))
    expect(drain).to_contain_text(f"{probe_target.url}/drain")
    expect(drain).to_contain_text("None declared by its module")
    expect(kill.get_by_role("listitem")).to_have_text(
        ["k8s/in-cluster/shop/selector:app=web"]
    )
    expect(touched).to_contain_text("Dry run: would run cm.http_request")
    expect(touched).not_to_contain_text("tok-1234")
    console.shot("dry-run")
    assert console.serious_accessibility_violations() == []
    trial = wait_for_trial(api, _trial_id(console))
    assert trial["dry_run"] is True
    assert probe_target.requests == []


def test_stop_from_the_trials_list(
    console: Console, api: httpx.Client, make_experiment: ExperimentMaker
) -> None:
    experiment = make_experiment(
        steps=[
            {"step": "Long pause", "do": "cm.wait", "where": {"time_in_seconds": 60}}
        ]
    )
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    wait_for_trial(api, trial["id"], until=lambda t: t["status"] == "In Progress")
    page = console.open(f"#/trials?experiment={experiment['id']}")

    page.get_by_role("button", name=f"Stop trial {trial['id'][:8]}").click()

    assert wait_for_trial(api, trial["id"])["status"] == "Stopped"


def test_guards_show_in_the_timeline_and_a_tripped_guard_stops_the_trial(
    console: Console,
    api: httpx.Client,
    make_experiment: ExperimentMaker,
    probe_target: ProbeTarget,
) -> None:
    experiment = make_experiment(
        steps=[{"step": "Hold", "do": "cm.wait", "where": {"time_in_seconds": 60}}],
        post_steps=[
            {"step": "Roll back", "do": "cm.wait", "where": {"time_in_seconds": 0}}
        ],
        guards=[
            {
                "step": "Checkout health",
                "do": "cm.http_probe",
                "where": {"url": f"{probe_target.url}/health"},
                "interval_seconds": 0.2,
            }
        ],
    )
    page = console.open(f"#/experiments/{experiment['id']}")
    expect(page.get_by_text("Guards (run beside the steps")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    guard_rows = page.locator(".timeline-row", has_text="Guard")
    expect(guard_rows.first).to_be_visible()

    probe_target.status = 503

    expect(page.locator(".trial-bar .status")).to_have_text("Stopped")
    expect(guard_rows.filter(has_text="failed").first).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("guard:Checkout health")
    console.shot("guard-tripped")
    trial = api.get(f"/api/v1/trial/{_trial_id(console)}").json()
    assert trial["stop_reason"] == "guard:Checkout health"


def test_faults_a_trial_left_in_place_are_reverted_from_its_page(
    console: Console, api: httpx.Client, aws: str
) -> None:
    ec2 = boto3.session.Session(region_name="eu-west-1").client("ec2")
    (instance,) = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro"
        )["Instances"]
    ]
    trial = run_steps(
        api,
        step("aws.ec2.stop_instance", {"instance_id": instance, "region": "eu-west-1"}),
    )
    assert trial["status"] == "Failed" and trial["residual_faults"]

    page = console.open(f"#/trials/{trial['id']}")
    left = page.locator("section", has_text="Faults left in place when it ended (1)")
    expect(left).to_contain_text(f"aws/eu-west-1/{instance}")
    expect(left).to_contain_text(f"to undo: start EC2 instance(s) {instance}")
    assert console.serious_accessibility_violations() == []
    revert = page.get_by_role("button", name="Revert faults left in place")
    revert.click()

    expect(
        page.get_by_role("status").filter(has_text="Reverted 1 fault(s)")
    ).to_be_visible()
    console.shot("reverted")
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]
    assert state["Instances"][0]["State"]["Name"] in ("pending", "running")
    # Reverting again is harmless: nothing is left to undo.
    revert.click()
    expect(
        page.get_by_role("status").filter(has_text="Nothing is left to revert")
    ).to_be_visible()
