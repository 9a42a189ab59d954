"""Fixtures of the engine tests: the test action module and a routing server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `engine_actions` and `trial_harness` sit beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

from routing_server import RoutingServer


@pytest.fixture(scope="session")
def _routing_server() -> Iterator[RoutingServer]:
    server = RoutingServer().start()
    yield server
    server.stop()


@pytest.fixture
def routing_server(_routing_server: RoutingServer) -> RoutingServer:
    _routing_server.routes.clear()
    _routing_server.paths.clear()
    return _routing_server
