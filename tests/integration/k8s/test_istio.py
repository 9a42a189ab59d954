"""Istio fault injection on a VirtualService of the loopback cluster."""

from __future__ import annotations

from typing import Any

from k8s_steps import RunTrial, step

from k8s_cluster import LoopbackCluster, manifests
from kallisti.domain.models import TrialStatus

ROUTES = [{"destination": {"host": "reviews", "subset": "v1"}}]


def _http(cluster: LoopbackCluster, name: str = "reviews") -> list[dict[str, Any]]:
    found = cluster.find(
        "virtualservices", name, "default", group="networking.istio.io"
    )
    assert found is not None
    return list(found["spec"]["http"])


def _virtual_service(cluster: LoopbackCluster) -> None:
    cluster.apply(manifests.virtual_service("reviews", hosts=("reviews", "ratings")))


async def test_add_delay_fault_sets_the_delay_on_the_matching_route_only(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)

    trial = await run_trial(
        step(
            "istio.add_delay_fault",
            {
                **access,
                "virtual_service_name": "reviews",
                "fixed_delay": "5s",
                "percentage": 50,
                "routes": ROUTES,
            },
            expect=[{"operator": "eq", "status": 200}],
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    reviews, ratings = _http(cluster)
    assert reviews["fault"] == {
        "delay": {"fixedDelay": "5s", "percentage": {"value": 50}}
    }
    assert "fault" not in ratings


async def test_add_abort_fault_then_its_removal_restores_the_route(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)
    original = _http(cluster)
    where = {**access, "virtual_service_name": "reviews", "routes": ROUTES}

    chaos = await run_trial(
        step("istio.add_abort_fault", {**where, "http_status": 503})
    )
    during = _http(cluster)[0].get("fault")
    undo = await run_trial(step("istio.remove_abort_fault", where))

    assert chaos.status is TrialStatus.SUCCEEDED
    assert during == {"abort": {"httpStatus": 503}}
    assert undo.status is TrialStatus.SUCCEEDED
    assert _http(cluster) == original


async def test_remove_delay_fault_leaves_an_abort_fault_in_place(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)
    where = {**access, "virtual_service_name": "reviews", "routes": ROUTES}

    trial = await run_trial(
        step("istio.add_abort_fault", {**where, "http_status": 500}),
        step("istio.add_delay_fault", {**where, "fixed_delay": "1s"}),
        step("istio.remove_delay_fault", where),
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert _http(cluster)[0]["fault"] == {"abort": {"httpStatus": 500}}


async def test_get_virtual_service_result_feeds_expect(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)

    trial = await run_trial(
        step(
            "istio.get_virtual_service",
            {**access, "virtual_service_name": "reviews"},
            expect=[
                {"operator": "eq", "status": 200},
                {"operator": "eq", "body.spec.hosts.1": "ratings"},
            ],
        ),
        step(
            "istio.get_virtual_service",
            {**access, "virtual_service_name": "absent"},
            expect=[{"operator": "eq", "status": 404}],
        ),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record


async def test_fault_on_a_missing_virtual_service_fails_clearly(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step(
            "istio.add_delay_fault",
            {
                **access,
                "virtual_service_name": "absent",
                "fixed_delay": "1s",
                "routes": ROUTES,
            },
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        "Virtual service 'absent' does not exist in namespace 'default': "
        'virtualservices.networking.istio.io "absent" not found.'
    )


async def test_fault_that_matches_no_route_fails_and_changes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)

    trial = await run_trial(
        step(
            "istio.add_abort_fault",
            {
                **access,
                "virtual_service_name": "reviews",
                "http_status": 500,
                "routes": [{"destination": {"host": "details"}}],
            },
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert "No HTTP route of virtual service 'reviews'" in trial.error()
    assert cluster.writes() == []


async def test_istio_dry_run_shows_the_fault_and_changes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)

    trial = await run_trial(
        step(
            "istio.add_delay_fault",
            {
                **access,
                "virtual_service_name": "reviews",
                "fixed_delay": "2s",
                "routes": ROUTES,
            },
        ),
        dry_run=True,
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert (
        'Dry run: would add delay fault {"fixedDelay": "2s"} on 1 HTTP route(s) of '
        "virtual service 'reviews' in namespace 'default'. Nothing was changed."
        in trial.log_text()
    )
    assert cluster.writes() == []


async def test_kallisti_experiments_reach_the_istio_faults_through_k8s(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)

    trial = await run_trial(
        step(
            "k8s.add_abort_fault",
            {
                **access,
                "virtual_service_name": "reviews",
                "http_status": 418,
                "routes": ROUTES,
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert _http(cluster)[0]["fault"] == {"abort": {"httpStatus": 418}}


async def test_set_fault_replaces_the_route_fault_and_unset_fault_removes_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _virtual_service(cluster)
    original = _http(cluster)
    where = {**access, "virtual_service_name": "reviews", "routes": ROUTES}
    fault = {"abort": {"httpStatus": 503, "percentage": {"value": 10}}}

    chaos = await run_trial(
        step("istio.add_delay_fault", {**where, "fixed_delay": "1s"}),
        step("istio.set_fault", {**where, "fault": fault}),
    )
    during = _http(cluster)
    undo = await run_trial(step("istio.unset_fault", where))

    assert chaos.status is TrialStatus.SUCCEEDED, chaos.record
    assert during[0]["fault"] == fault  # the delay is replaced, not merged
    assert "fault" not in during[1]
    assert undo.status is TrialStatus.SUCCEEDED, undo.record
    assert _http(cluster) == original
