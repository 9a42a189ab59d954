"""The seed page's walk-through ("How to use Kallisti"), done in the console by
someone who never opens the API docs: paste the page's example experiment as
it is printed (trailing comma and all), create it, run it, read the record and
download the report."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from console_page import Console
from playwright.sync_api import expect

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# As printed on the seed page, with its trailing comma after "url".
SEED_EXPERIMENT = """{
  "name": "Terminate a hello world pod",
  "description": "Terminate a pod and validate the status of the application's health endpoint.",
  "steps": [
    {
      "step": "Terminate pod",
      "do": "k8s.terminate_pods",
      "where": {
        "label_selector": "app=hello-world",
        "qty": 1,
        "ns": "my-namespace",
        "credentials": {
          "type": "ENV_VAR_USERNAME_PASSWORD",
          "password_key": "K8S_PASSWORD",
          "username_key": "K8S_USERNAME"
        }
      }
    },
    {
      "step": "HTTP health check",
      "do" : "cm.http_probe",
      "where": {
        "url" : "https://hello-world.com/health",
      }
    }
  ]
}"""  # noqa: E501


def test_seed_walk_through_in_the_console(
    console: Console, api: httpx.Client, tmp_path: Path
) -> None:
    page = console.open()
    page.get_by_role("link", name="Experiments", exact=True).click()
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Experiment (JSON)").fill(SEED_EXPERIMENT)
    expect(page.get_by_text("Not valid JSON")).to_be_visible()
    page.get_by_role("button", name="Remove trailing commas").click()
    expect(page.get_by_text("Valid experiment.")).to_be_visible()
    page.get_by_role("button", name="Create experiment").click()

    expect(
        page.get_by_role("heading", level=1, name="Terminate a hello world pod")
    ).to_be_visible()
    experiment_id = page.locator("dl.facts code").first.inner_text()
    page.get_by_role("button", name="Run", exact=True).click()

    # No cluster here and no K8S_USERNAME: the pod step fails, and the record
    # (on the page, no API docs needed) says why.
    expect(page.locator(".trial-bar .status")).to_have_text("Failed")
    first = page.locator(".timeline-row").first
    expect(first.locator(".step-state")).to_have_text("failed")
    expect(page.locator("details.step-log").first).to_contain_text("Step failed")
    console.shot("walk-through-trial")
    trial_id = re.search(r"#/trials/([0-9a-f-]{36})", page.url)
    assert trial_id
    trial = api.get(f"/api/v1/trial/{trial_id.group(1)}").json()
    assert trial["experiment"] == experiment_id
    assert trial["status"] == "Failed"

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the XML report of this trial").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert "Terminate a hello world pod" in saved.read_text()
