"""The loopback cluster's selectors behave as the API server's do."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_cluster.errors import ApiError
from k8s_cluster.selectors import parse_field_selector, parse_label_selector


def _pod(labels: dict[str, str], node: str = "n1") -> dict[str, Any]:
    return {"metadata": {"name": "p", "labels": labels}, "spec": {"nodeName": node}}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "api"}, False),
        ("app!=web", {}, True),
        ("app in (web, api),tier", {"app": "api", "tier": "x"}, True),
        ("app notin (web)", {"app": "web"}, False),
        ("!canary", {"canary": "true"}, False),
        ("app=web,tier=front", {"app": "web"}, False),
    ],
)
def test_label_selector_terms(
    selector: str, labels: dict[str, str], matches: bool
) -> None:
    assert parse_label_selector(selector)(_pod(labels)) is matches


def test_malformed_label_selector_is_a_400() -> None:
    with pytest.raises(ApiError) as raised:
        parse_label_selector("app in web")
    assert raised.value.code == 400


def test_field_selector_accepts_only_the_kinds_fields() -> None:
    on_node = parse_field_selector("spec.nodeName=n1", ("spec.nodeName",))
    assert on_node(_pod({})) and not on_node(_pod({}, node="n2"))
    with pytest.raises(ApiError, match="field label not supported"):
        parse_field_selector("spec.nodeName=n1", ())
