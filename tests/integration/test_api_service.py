"""Service endpoints over real HTTP: health, info, the Swagger UI at `/`, and the
OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

from kallisti import __version__


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/health/"])
def test_health_says_up(api: httpx.Client, path: str) -> None:
    response = api.get(path, follow_redirects=False)

    assert response.status_code == 200
    assert response.json() == {"status": "up"}


def test_info_has_the_version_and_the_platform(api: httpx.Client) -> None:
    response = api.get("/api/v1/info")

    assert response.status_code == 200
    info = response.json()
    assert info["version"] == __version__
    assert isinstance(info["platform"], dict)


def test_root_leads_to_the_swagger_ui(api: httpx.Client) -> None:
    response = api.get("/", follow_redirects=False)

    assert response.is_redirect
    assert response.headers["location"] == "/docs"
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text
    assert "/api/v1/openapi.json" in docs.text


def test_the_openapi_document_lists_every_api_path(api: httpx.Client) -> None:
    response = api.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == __version__
    paths = document["paths"]
    assert {
        "/api/v1/experiment",
        "/api/v1/experiment/{experiment_id}",
        "/api/v1/trial",
        "/api/v1/trial/{trial_id}",
        "/api/v1/trial/{trial_id}/stop",
        "/api/v1/health",
        "/api/v1/info",
    } <= set(paths)
    assert set(paths["/api/v1/trial/{trial_id}"]) == {"get"}
    assert set(paths["/api/v1/trial/{trial_id}/stop"]) == {"put"}


def test_the_openapi_document_says_invalid_input_is_400(api: httpx.Client) -> None:
    document = api.get("/api/v1/openapi.json").json()

    operations = [
        operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
    ]
    assert all("422" not in operation["responses"] for operation in operations)
    create = document["paths"]["/api/v1/experiment"]["post"]["responses"]
    schema = create["400"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Invalid"}
    invalid = document["components"]["schemas"]["Invalid"]
    answer = api.post("/api/v1/experiment", json={}).json()
    assert set(answer) == set(invalid["properties"])
    item = invalid["properties"]["errors"]["items"]["properties"]
    assert all(set(error) == set(item) for error in answer["errors"])


def test_an_unsupported_method_is_405(api: httpx.Client) -> None:
    response = api.delete("/api/v1/experiment")

    assert response.status_code == 405
    assert "detail" in response.json()


def test_an_unknown_path_is_404_in_json(api: httpx.Client) -> None:
    response = api.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert "detail" in response.json()
