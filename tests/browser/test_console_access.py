"""The console with access control on: it asks for a sign-in, takes a pasted
token, and shows only what the caller's roles allow."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from console_page import SCREENSHOTS, Console, ExperimentMaker
from playwright.sync_api import Browser, Page, expect

from identity_provider import IdentityProvider
from support import ServiceThread, running_service, service_settings

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

WAIT = {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}}


def _sign_in(console: Console, token: str, fragment: str = "") -> Page:
    page = console.page
    page.goto(f"{console.base_url}/ui{fragment}")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).click()
    return page


@sqlite_only
def test_console_asks_for_a_sign_in_and_refuses_a_bad_token(
    secured_console: Console, identity_provider: IdentityProvider
) -> None:
    page = _sign_in(secured_console, "not-a-token")

    expect(page.get_by_role("alert")).to_contain_text("The token was not accepted")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    assert secured_console.serious_accessibility_violations() == []


@sqlite_only
def test_viewer_sees_experiments_but_no_controls_that_change_them(
    secured_console: Console,
    identity_provider: IdentityProvider,
    make_experiment: ExperimentMaker,
    secured_service: ServiceThread,
) -> None:
    experiment = make_experiment(steps=[WAIT])
    token = identity_provider.token("vera", roles=["viewer"])
    page = _sign_in(secured_console, token, f"#/experiments/{experiment['id']}")

    expect(
        page.get_by_role("heading", level=1, name=experiment["name"])
    ).to_be_visible()
    expect(page.locator("#session")).to_contain_text("vera (viewer)")
    expect(page.get_by_role("button", name="Run", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.get_by_role("button", name="Halt all chaos")).to_have_count(0)
    page.get_by_role("link", name="Experiments", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Experiments")).to_be_visible()
    expect(page.get_by_role("link", name="New experiment")).to_have_count(0)
    secured_console.shot("viewer")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()


@sqlite_only
def test_operator_runs_a_trial_but_cannot_edit(
    secured_console: Console,
    identity_provider: IdentityProvider,
    make_experiment: ExperimentMaker,
    api: httpx.Client,
) -> None:
    experiment = make_experiment(steps=[WAIT])
    token = identity_provider.token("otto", roles=["operator"])
    page = _sign_in(secured_console, token, f"#/experiments/{experiment['id']}")

    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page.get_by_role("button", name="Run", exact=True).click()

    # The secured service has no worker: the open service's worker runs it.
    expect(page.locator(".trial-bar .status")).to_have_text("Succeeded")
    trials = api.get("/api/v1/trial", params={"experiment": experiment["id"]}).json()
    assert [t["initiated_by"] for t in trials] == ["otto"]


@pytest.fixture
def oauth2_service(
    database_urls: dict[str, str], identity_provider: IdentityProvider
) -> Iterator[ServiceThread]:
    """Access control on, with an OAuth2 provider (implicit flow) configured."""
    settings = service_settings(
        database_urls["sqlite"],
        run_worker=False,
        auth_flow="implicit",
        auth_url=identity_provider.authorize_url,
        auth_client_id="kallisti-console",
        **identity_provider.service_auth(),
    )
    with running_service(settings) as thread:
        yield thread


def test_sign_in_through_the_configured_oauth2_provider(
    browser: Browser,
    oauth2_service: ServiceThread,
    identity_provider: IdentityProvider,
    request: pytest.FixtureRequest,
) -> None:
    identity_provider.signed_in_as = ("olivia", ["editor"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{oauth2_service.url}/ui#/experiments")
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        page.get_by_role("button", name="Sign in with your identity provider").click()

        expect(page.locator("#session")).to_contain_text("olivia (editor)")
        expect(page.get_by_role("heading", level=1, name="Kallisti")).to_be_visible()
        assert "access_token" not in page.url
        page.get_by_role("link", name="Experiments", exact=True).click()
        expect(page.get_by_role("link", name="New experiment")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "oauth2-signed-in.png"))
    finally:
        context.close()


@pytest.fixture
def code_flow_service(
    database_urls: dict[str, str], identity_provider: IdentityProvider
) -> Iterator[ServiceThread]:
    """Access control on, with the authorization-code flow (PKCE) configured."""
    settings = service_settings(
        database_urls["sqlite"],
        run_worker=False,
        auth_flow="authorizationCode",
        auth_url=identity_provider.authorize_url,
        auth_jwt_token_url=identity_provider.token_url,
        auth_client_id="kallisti-console",
        **identity_provider.service_auth(),
    )
    with running_service(settings) as thread:
        yield thread


def test_sign_in_with_the_authorization_code_flow_and_pkce(
    browser: Browser,
    code_flow_service: ServiceThread,
    identity_provider: IdentityProvider,
) -> None:
    identity_provider.signed_in_as = ("carla", ["operator"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    asked: list[tuple[str, str]] = []
    page.on("request", lambda r: asked.append((r.method, r.url)))
    try:
        page.goto(f"{code_flow_service.url}/ui#/trials")
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        page.get_by_role("button", name="Sign in with your identity provider").click()

        expect(page.locator("#session")).to_contain_text("carla (operator)")
        expect(page.get_by_role("heading", level=1, name="Trials")).to_be_visible()
        assert "code=" not in page.url and page.url.endswith("/ui#/trials")
        page.screenshot(path=str(SCREENSHOTS / "oauth2-code-signed-in.png"))
        assert not [
            v
            for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    finally:
        context.close()

    # The browser went to the provider's sign-in page only; the service traded
    # the code (the console's CSP stays default-src 'self').
    provider = identity_provider.authorize_url.removesuffix("/authorize")
    to_provider = [(m, u.split("?")[0]) for m, u in asked if u.startswith(provider)]
    assert to_provider == [("GET", identity_provider.authorize_url)]
    assert ("POST", f"{code_flow_service.url}/api/v1/session/token") in asked
    challenge = next(
        u for _, u in asked if u.startswith(identity_provider.authorize_url)
    )
    assert "code_challenge_method=S256" in challenge
    assert identity_provider.token_requests[-1]["code_verifier"]
    assert identity_provider.codes == {}


@sqlite_only
def test_only_admins_get_the_halt_control(
    secured_console: Console, identity_provider: IdentityProvider
) -> None:
    page = _sign_in(
        secured_console, identity_provider.token("otto", roles=["operator"])
    )
    expect(page.get_by_role("heading", level=1, name="Kallisti")).to_be_visible()
    expect(page.get_by_role("button", name="Halt all chaos")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    page = _sign_in(secured_console, identity_provider.token("ada", roles=["admin"]))
    expect(page.locator("#session")).to_contain_text("ada (admin)")
    expect(page.get_by_role("button", name="Halt all chaos")).to_be_visible()
