"""GET /api/v1/modules: the catalogue over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

import httpx


def _namespace(catalogue: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(n for n in catalogue if n["name"] == name)


def test_the_catalogue_lists_every_namespace_with_actions_and_arguments(
    api: httpx.Client,
) -> None:
    response = api.get("/api/v1/modules")

    assert response.status_code == 200
    catalogue = response.json()
    names = [n["name"] for n in catalogue]
    assert names == sorted(names)
    assert {"cm", "k8s", "istio"} <= set(names)
    cm = _namespace(catalogue, "cm")
    assert cm["module"] == "kallisti.modules.cm" and cm["error"] is None
    probe = next(a for a in cm["actions"] if a["name"] == "http_probe")
    assert probe["probe"] is True
    assert probe["arguments"][0] == {
        "name": "url",
        "type": "str",
        "default": None,
        "required": True,
    }
    assert {"name": "method", "type": "str", "default": "GET", "required": False} in (
        probe["arguments"]
    )
    k8s = {a["name"]: a for a in _namespace(catalogue, "k8s")["actions"]}
    assert k8s["terminate_pods"]["probe"] is False
    assert k8s["list_pods"]["probe"] is True


def test_one_namespace_is_readable_alone_and_an_unknown_one_is_404(
    api: httpx.Client,
) -> None:
    response = api.get("/api/v1/modules/cm/")

    assert response.status_code == 200
    assert [a["name"] for a in response.json()["actions"]] == [
        "http_probe",
        "http_request",
        "wait",
    ]
    missing = api.get("/api/v1/modules/nope")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Not found."
