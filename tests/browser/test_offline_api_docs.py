"""Swagger UI at /docs and ReDoc at /redoc in Chromium, on a network with no way out: every
request to a host other than the broker's is refused, and the pages still work."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.databases import SQLITE_ONLY
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import TRUST

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", SQLITE_ONLY, indirect=True),
]

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Offline:
    """Refuses every request that would leave the machine, and keeps what the page said
    about it (a refused request, a script the Content-Security-Policy stopped)."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.complaints: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("internetdisconnected")

    def console(self, message: ConsoleMessage) -> None:
        # ReDoc's sidebar shows a logo from its maker's site: the page's policy refuses it
        # before any request is made, which is the policy doing its work, not a fault.
        foreign_image = "Loading the image 'https://" in message.text and "img-src" in message.text
        if message.type == "error" and not foreign_image:
            self.complaints.append(message.text)


@pytest.fixture
def offline_page(serving: ServingImb) -> Iterator[tuple[Page, Offline]]:
    offline = Offline()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=serving.base_url)
            page.route("**/*", offline.route)
            page.on("console", offline.console)
            yield page, offline
        finally:
            browser.close()


def test_swagger_ui_renders_offline_and_its_authorize_button_gets_a_token(
    installation: ImbInstallation, offline_page: tuple[Page, Offline]
) -> None:
    client_id, secret = installation.add_client(TRUST, "events:publish inbox:read")
    page, offline = offline_page

    page.goto("/docs")
    expect(page.locator('[data-path="/v1/events"]').first).to_be_visible(timeout=30_000)
    expect(page.locator('[data-path="/oauth/token"]').first).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    oauth = page.locator(".auth-container").filter(has_text="clientCredentials")
    oauth.locator("input[id^=client_id]").fill(client_id)
    oauth.locator("input[id^=client_secret]").fill(secret)
    oauth.locator("button", has_text="Authorize").click()

    expect(oauth.locator("button", has_text="Logout")).to_be_visible(timeout=15_000)
    expect(oauth.get_by_text("Authorized", exact=True)).to_be_visible()
    assert offline.complaints == []
    assert offline.refused == []


def test_redoc_renders_offline(offline_page: tuple[Page, Offline]) -> None:
    page, offline = offline_page

    page.goto("/redoc")

    expect(page.get_by_role("heading", name="IMB — Interagency Messaging Broker")).to_be_visible(
        timeout=30_000
    )
    expect(
        page.get_by_role("heading", name="Obtain an access token (client credentials)")
    ).to_be_visible()
    assert offline.complaints == []
    assert offline.refused == []
