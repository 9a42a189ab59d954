"""Shared fixtures. Store, queue and API tests run against SQLite AND PostgreSQL:
the `backend` fixture is parametrised over both, and each backend's service
starts once per run. Tests do not share objects: each creates its own
experiments and filters lists by them (finished trials cannot be deleted, by
design, so the database is never wiped between tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from kallisti.store import Store

sys.path.insert(0, str(Path(__file__).parent))

from identity_provider import IdentityProvider
from support import (
    ProbeTarget,
    ServiceThread,
    create_postgres_database,
    drop_postgres_database,
    service_settings,
)

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    sqlite_path = tmp_path_factory.mktemp("db") / "kallisti.db"
    urls = {
        "sqlite": f"sqlite:///{sqlite_path}",
        "postgresql": create_postgres_database(),
    }
    yield urls
    drop_postgres_database(urls["postgresql"])


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _services(database_urls: dict[str, str]) -> Iterator[dict[str, ServiceThread]]:
    started: dict[str, ServiceThread] = {}
    yield started
    for thread in started.values():
        thread.stop()


@pytest.fixture(scope="session")
def service(
    backend: str, database_urls: dict[str, str], _services: dict[str, ServiceThread]
) -> ServiceThread:
    """The API with an in-process worker, on the backend under test."""
    if backend not in _services:
        _services[backend] = ServiceThread(
            service_settings(database_urls[backend])
        ).start()
    return _services[backend]


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    """A JWKS endpoint on loopback whose keys sign the tests' tokens."""
    provider = IdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def secured_service(
    backend: str,
    database_urls: dict[str, str],
    identity_provider: IdentityProvider,
    _services: dict[str, ServiceThread],
) -> ServiceThread:
    """The API with access control on (JWTs from `identity_provider`, roles in
    the `roles` claim), on the backend under test; its trials are run by the
    open service's worker on the same database."""
    name = f"secured-{backend}"
    if name not in _services:
        settings = service_settings(
            database_urls[backend],
            run_worker=False,
            auth_jwt_token_url="http://127.0.0.1:9/token",
            **identity_provider.service_auth(),
        )
        _services[name] = ServiceThread(settings).start()
    return _services[name]


@pytest.fixture
def idle_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on the backend under test that no worker serves: its
    trials stay Scheduled unless the test claims them as a worker would."""
    url = (
        f"sqlite:///{tmp_path}/idle.db"
        if backend == "sqlite"
        else create_postgres_database()
    )
    store = Store(url)
    store.migrate()
    yield store
    store.close()
    if backend == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def api(service: ServiceThread) -> Iterator[httpx.Client]:
    """An HTTP client for the running service (real HTTP on 127.0.0.1)."""
    # verify=False: plain HTTP on loopback; it spares loading the CA bundle.
    with httpx.Client(base_url=service.url, timeout=30, verify=False) as client:
        yield client


@pytest.fixture
def store(service: ServiceThread) -> Store:
    return service.service.store


@pytest.fixture(scope="session")
def _probe_target() -> Iterator[ProbeTarget]:
    target = ProbeTarget().start()
    yield target
    target.stop()


@pytest.fixture
def probe_target(_probe_target: ProbeTarget) -> ProbeTarget:
    """A real HTTP server to probe; its answers reset for each test."""
    _probe_target.reset()
    return _probe_target


@pytest.fixture(scope="session")
def _moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(_moto: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The worker's AWS environment, pointed at moto (server mode, loopback) with
    fake keys; returns moto's URL. Its state lives for the whole run."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto)
    # moto's thousands of default images make each new instance take seconds.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    return _moto


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (never a downloaded one).

    Module scope: Playwright's sync API holds an event loop on the main thread
    while it is open, which the asyncio tests of other modules need."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
