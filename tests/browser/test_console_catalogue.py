"""The editor completes `do` and the `where` argument names from the module
catalogue (GET /api/v1/modules) and warns about steps the worker could not run
as written, by the keyboard alone."""

from __future__ import annotations

import json

import pytest
from console_page import Console
from playwright.sync_api import expect

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_do_and_where_names_are_completed_from_the_catalogue(console: Console) -> None:
    page = console.open("#/experiments/new")
    editor = page.get_by_label("Experiment (JSON)")
    suggestions = page.get_by_role("listbox", name="Suggestions")

    editor.fill("")
    editor.press_sequentially('{"name": "Probe", "steps": [{"do": "cm.http_p')
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions).to_contain_text("cm.http_probe")
    console.shot("do-completion")
    editor.press("Enter")
    assert editor.input_value().endswith('"do": "cm.http_probe')

    editor.press_sequentially('", "where": {"ur')
    expect(suggestions.get_by_role("option", name="url")).to_be_visible()
    editor.press("Enter")
    editor.press_sequentially('": "http://127.0.0.1:1/"}}]}')
    expect(suggestions).to_be_hidden()
    document = json.loads(editor.input_value())
    assert document["steps"][0] == {
        "do": "cm.http_probe",
        "where": {"url": "http://127.0.0.1:1/"},
    }
    expect(page.locator("#experiment-problems")).to_contain_text("Valid experiment.")


def test_arrow_keys_choose_and_escape_closes_the_suggestions(console: Console) -> None:
    page = console.open("#/experiments/new")
    editor = page.get_by_label("Experiment (JSON)")
    suggestions = page.get_by_role("listbox", name="Suggestions")

    editor.fill("")
    editor.press_sequentially('{"name": "x", "steps": [{"do": "cm.')
    options = suggestions.get_by_role("option")
    expect(options).to_have_count(3)
    editor.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    chosen = options.nth(1).locator("code").inner_text()
    editor.press("Tab")
    assert editor.input_value().endswith(f'"do": "{chosen}')

    editor.press_sequentially('", "where": {"')
    expect(suggestions).to_be_visible()
    editor.press("Escape")
    expect(suggestions).to_be_hidden()


def test_steps_the_catalogue_cannot_run_are_warned_about_inline(
    console: Console,
) -> None:
    page = console.open("#/experiments/new")
    body = {
        "name": "Warned",
        "steps": [
            {"do": "cm.http_probe", "where": {"bogus": 1}},
            {"do": "cm.no_such_action", "where": {}},
            {"do": "nomodule.act", "where": {}},
        ],
    }
    page.get_by_label("Experiment (JSON)").fill(json.dumps(body))

    problems = page.locator("#experiment-problems")
    expect(problems).to_contain_text("Valid experiment.")
    expect(problems).to_contain_text("4 warnings")
    expect(problems).to_contain_text('steps.0.where: cm.http_probe needs "url"')
    expect(problems).to_contain_text("steps.0.where.bogus: cm.http_probe takes no")
    expect(problems).to_contain_text("steps.1.do: the cm module has no action")
    expect(problems).to_contain_text("steps.2.do: no installed module serves")
    console.shot("warnings")
    assert console.serious_accessibility_violations() == []
