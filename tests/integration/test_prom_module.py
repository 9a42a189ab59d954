"""`prom` steps over the REST API against a real Prometheus scraping our exporter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from module_trials import run_steps, step, step_error, step_logs
from prometheus_server import MetricExporter, PrometheusServer

METRIC = "kallisti_chaos_healthy_replicas"


@dataclass
class Monitoring:
    exporter: MetricExporter
    prometheus: PrometheusServer

    def set(self, value: float) -> None:
        self.exporter.values[METRIC] = value
        self.prometheus.wait_for_value(METRIC, value)


@pytest.fixture(scope="module")
def monitoring() -> Iterator[Monitoring]:
    exporter = MetricExporter().start()
    exporter.values[METRIC] = 3
    prometheus = PrometheusServer(exporter)
    try:
        yield Monitoring(exporter, prometheus.start())
    finally:
        prometheus.stop()
        exporter.stop()


def _query_step(monitoring: Monitoring, expected: str) -> dict[str, object]:
    return step(
        "prom.query",
        {"base_url": monitoring.prometheus.url, "query": METRIC},
        # Prometheus gives values as strings: "3" compares as the number 3.
        expect=[{"operator": "ge", "data.result.0.value.1": expected}],
    )


def test_a_trial_whose_expectation_on_the_metric_holds_succeeds_and_one_broken_fails(
    api: httpx.Client, monitoring: Monitoring
) -> None:
    monitoring.set(3)
    holds = run_steps(api, _query_step(monitoring, "2"))

    assert holds["status"] == "Succeeded", holds["trial_record"]
    assert "All expectations passed" in step_logs(holds)

    monitoring.set(1)
    broken = run_steps(api, _query_step(monitoring, "2"))

    assert broken["status"] == "Failed"
    assert step_error(broken).startswith("Step failed. Type: ExpectationFailed.")


def test_query_at_a_past_time_and_query_interval_read_the_series(
    api: httpx.Client, monitoring: Monitoring
) -> None:
    monitoring.set(4)
    trial = run_steps(
        api,
        step(
            "prom.query",
            {
                "base_url": monitoring.prometheus.url,
                "query": f"count({METRIC})",
                "when": "1 second ago",
            },
            expect=[{"operator": "eq", "status": "success"}],
        ),
        step(
            "prom.query_interval",
            {
                "base_url": monitoring.prometheus.url,
                "query": METRIC,
                "start": "2 minutes ago",
                "end": "now",
                "step": 1,
            },
            expect=[
                {"operator": "eq", "data.resultType": "matrix"},
                {"operator": "eq", "data.result.0.metric.job": "chaos-target"},
            ],
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]


def test_a_query_prometheus_refuses_fails_with_its_reason(
    api: httpx.Client, monitoring: Monitoring
) -> None:
    trial = run_steps(
        api,
        step("prom.query", {"base_url": monitoring.prometheus.url, "query": "sum("}),
    )

    assert trial["status"] == "Failed"
    error = step_error(trial)
    assert error.startswith("Step failed. Type: StepFailed. Error: query: Prometheus")
    assert "parse error" in error


def test_an_unreachable_prometheus_fails_naming_the_address_and_the_fix(
    api: httpx.Client, monitoring: Monitoring
) -> None:
    exporter = MetricExporter().start()  # a closed server's port: nothing listens
    address = exporter.address
    exporter.stop()

    trial = run_steps(
        api, step("prom.query", {"base_url": f"http://{address}", "query": METRIC})
    )

    assert trial["status"] == "Failed"
    assert step_error(trial) == (
        f"Step failed. Type: StepFailed. Error: Prometheus at http://{address} is "
        "unreachable (Connection refused); check `base_url` and that the server runs."
    )
