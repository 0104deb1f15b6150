"""The access line of a request to the web pages names the signed-in person's agency and
account id, so an operator can tell whose requests they are, and never the username, which is
the person's name."""

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import User
from broker.runtime import Runtime
from tests.captured_logs import captured_logs, log_lines
from tests.web import add_person, sign_in, web_client
from tests.world import TRUST, World

USERNAME = "quillon.marsh"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with captured_logs() as out:
        yield out


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, USERNAME, TRUST, role="ig_lead")
    async with web_client(runtime) as client:
        yield client


async def _user_id(rt: Runtime) -> str:
    async with rt.db.unit_of_work() as session:
        user_id = await session.scalar(select(User.id).where(User.username == USERNAME))
    assert user_id is not None
    return str(user_id)


def _access_line(out: io.StringIO, method: str, route: str) -> dict[str, Any]:
    [line] = [
        line
        for line in log_lines(out, "http.request")
        if (line["method"], line["route"]) == (method, route)
    ]
    return line


async def test_a_signed_in_persons_page_requests_name_their_agency_and_account_not_their_name(
    browser: httpx.AsyncClient, runtime: Runtime, log_output: io.StringIO
) -> None:
    signed = await sign_in(browser, USERNAME)
    page = await browser.get("/ig/agreements")
    refused = await browser.get("/duty")  # a page for another role

    user_id = await _user_id(runtime)
    assert (signed.status_code, page.status_code, refused.status_code) == (303, 200, 403)
    for method, route in [("POST", "/login"), ("GET", "/ig/agreements"), ("GET", "/duty")]:
        line = _access_line(log_output, method, route)
        assert (line["agency"], line["user_id"]) == (TRUST, user_id), route
        assert line["client_id"] is None, route
    assert USERNAME not in log_output.getvalue()


async def test_requests_from_nobody_signed_in_name_no_one(
    browser: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    refused = await sign_in(browser, USERNAME, password="not the password at all")
    page = await browser.get("/ig/agreements")

    assert refused.status_code != 303 and page.status_code == 303
    for method, route in [("GET", "/login"), ("POST", "/login"), ("GET", "/ig/agreements")]:
        line = _access_line(log_output, method, route)
        assert (line["agency"], line["user_id"], line["client_id"]) == (None, None, None), route
    assert USERNAME not in log_output.getvalue()
