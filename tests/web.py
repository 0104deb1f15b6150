"""People at the web pages: accounts, a cookie-keeping client, and what a page shows."""

import re
from html.parser import HTMLParser

import httpx

from broker.api.app import create_app
from broker.audit.log import Actor
from broker.runtime import Runtime
from broker.users.service import create_user

PASSWORD = "correct horse battery staple"
OPERATOR = Actor(agency=None, client="test")
_HIDDEN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def add_person(
    rt: Runtime, username: str, agency: str, role: str = "ig_lead", password: str = PASSWORD
) -> None:
    async with rt.db.unit_of_work() as session:
        await create_user(
            session, rt, OPERATOR, username=username, agency=agency, role=role, password=password
        )
        await session.commit()


def web_client(rt: Runtime) -> httpx.AsyncClient:
    """A browser-like client over HTTPS (so the Secure cookie is kept) that does not follow
    redirects, so tests can see where each answer points."""
    transport = httpx.ASGITransport(app=create_app(rt))
    return httpx.AsyncClient(transport=transport, base_url="https://imb.test")


def form_token(page: httpx.Response) -> str:
    found = _HIDDEN_TOKEN.search(page.text)
    assert found, f"no form token on the page: {page.text[:500]}"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/login")
    fields = {"username": username, "password": password, "csrf_token": form_token(page)}
    return await client.post("/login", data=fields)


async def post_form(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], *, token_from: str | None
) -> httpx.Response:
    """Post a form as the browser would, with the token from the page at `token_from`."""
    if token_from is not None:
        fields = {**fields, "csrf_token": form_token(await client.get(token_from))}
    return await client.post(path, data=fields)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script", "head"}:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "head"}:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: httpx.Response) -> str:
    """The page's words as a reader sees them, whitespace collapsed."""
    parser = _Text()
    parser.feed(page.text)
    return " ".join(" ".join(parser.parts).split())
