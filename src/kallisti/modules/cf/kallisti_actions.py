"""Kallisti's own Cloud Foundry functions, on chaostoolkit-cloud-foundry's API
helpers and in the drivers' shape (`configuration`, `secrets`): `cf_action`
wraps them like the driver's own."""

from __future__ import annotations

import random
from typing import Any

from chaoscf.actions import terminate_app_instance, terminate_some_random_instance
from chaoscf.api import call_api, get_app_instances, get_apps_for_org, get_org_by_name
from chaoslib.exceptions import ActivityFailed

__all__ = [
    "get_app_states_by_org",
    "get_user_organization_by_name",
    "get_user_space_by_organization_and_space_name",
    "terminate_random_app_instance",
    "terminate_some_random_instances",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]


def get_app_states_by_org(
    org_name: str, configuration: Configuration, secrets: Secrets
) -> list[dict[str, Any]]:
    """The `name` and `state` of every app of the org `org_name`."""
    apps = get_apps_for_org(org_name, configuration, secrets)["resources"]
    if not apps:
        raise ActivityFailed(f"no app was found under org: '{org_name}'.")
    return [
        {"name": app["entity"]["name"], "state": app["entity"]["state"]} for app in apps
    ]


def terminate_random_app_instance(
    org_name: str, configuration: Configuration, secrets: Secrets
) -> None:
    """Terminate a random instance of a randomly picked app of the org `org_name`."""
    apps = get_apps_for_org(org_name, configuration, secrets)["resources"]
    app_name = random.choice([app["entity"]["name"] for app in apps])
    terminate_some_random_instance(app_name, configuration, secrets, org_name)


def terminate_some_random_instances(
    app_name: str,
    configuration: Configuration,
    secrets: Secrets,
    count: int = 0,
    percentage: int = 0,
    org_name: str | None = None,
    space_name: str | None = None,
) -> None:
    """Terminate `count` random instances of the app `app_name`, or `percentage`
    percent of them (which wins when both are given); all of them when there
    are fewer."""
    instances = get_app_instances(
        app_name, configuration, secrets, org_name=org_name, space_name=space_name
    )
    indices = list(instances)
    if percentage > 0:
        count = int(len(indices) * percentage / 100)
    for index in random.sample(indices, min(count, len(indices))):
        terminate_app_instance(
            app_name, index, configuration, secrets, org_name, space_name
        )


def get_user_organization_by_name(
    user_guid: str, org_name: str, configuration: Configuration, secrets: Secrets
) -> dict[str, Any]:
    """The org `org_name` among the orgs of the user `user_guid`."""
    answer = call_api(
        f"/v2/users/{user_guid}/organizations",
        configuration,
        secrets,
        query={"q": f"name:{org_name}"},
    ).json()
    if answer["total_results"] == 1:
        return dict(answer["resources"][0])
    raise ActivityFailed(f"org '{org_name}' was not found")


def get_user_space_by_organization_and_space_name(
    user_guid: str,
    org_name: str,
    space_name: str,
    configuration: Configuration,
    secrets: Secrets,
) -> dict[str, Any]:
    """The space `space_name` of the org `org_name` where `user_guid` is a developer."""
    org = get_org_by_name(org_name, configuration, secrets)
    query = [
        f"organization_guid:{org['metadata']['guid']}",
        f"developer_guid:{user_guid}",
    ]
    if space_name:
        query.append(f"name:{space_name}")
    spaces = call_api("/v2/spaces", configuration, secrets, query={"q": query}).json()
    if not spaces["total_results"]:
        raise ActivityFailed(f"space '{space_name}' was not found")
    return dict(spaces["resources"][0])
