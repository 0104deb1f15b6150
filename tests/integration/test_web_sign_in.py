"""Signing in and out of the web pages: the cookie, the session row, refusals and the audit."""

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, User, WebSession
from broker.runtime import Runtime
from tests.web import PASSWORD, add_person, form_token, post_form, sign_in, visible_text, web_client
from tests.world import TRUST, World

IG_LEAD = "ig.lead"


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, IG_LEAD, TRUST)
    async with web_client(runtime) as client:
        yield client


async def _sessions(rt: Runtime) -> list[WebSession]:
    async with rt.db.unit_of_work() as session:
        found = list((await session.scalars(select(WebSession))).all())
        session.expunge_all()  # read after the unit of work rolls back
        return found


async def _audit(rt: Runtime, event: str) -> list[AuditRecord]:
    async with rt.db.unit_of_work() as session:
        found = list(
            (await session.scalars(select(AuditRecord).where(AuditRecord.event == event))).all()
        )
        session.expunge_all()
        return found


async def test_sign_in_sets_a_strict_http_only_secure_cookie_and_stores_only_its_hash(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await sign_in(browser, IG_LEAD)

    assert response.status_code == 303
    assert response.headers["location"] == "/ig/agreements"
    cookie = response.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    token = rest.split(";")[0]
    assert name == "__Host-imb-session"
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes
    (stored,) = await _sessions(runtime)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.csrf_token, stored.token_hash}
    assert len(token) >= 43  # 256 bits, URL-safe base64


async def test_signed_in_person_sees_their_name_and_agency(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, IG_LEAD)

    page = await browser.get("/ig/agreements")

    assert page.status_code == 200
    assert f"{IG_LEAD} · {TRUST}" in visible_text(page)


async def test_wrong_password_shows_the_form_again_with_a_generic_message_and_is_audited(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await sign_in(browser, IG_LEAD, "not the password at all")

    assert response.status_code == 401
    assert "username or password is not right" in visible_text(response)
    assert "__Host-imb-session" not in response.headers.get("set-cookie", "")
    assert await _sessions(runtime) == []
    (refusal,) = await _audit(runtime, "user.sign_in_refused")
    assert refusal.detail == {"username": IG_LEAD}


async def test_unknown_username_gets_the_same_answer_as_a_wrong_password(
    browser: httpx.AsyncClient,
) -> None:
    unknown = await sign_in(browser, "nobody.here", PASSWORD)
    wrong = await sign_in(browser, IG_LEAD, "not the password at all")

    assert unknown.status_code == wrong.status_code == 401
    assert visible_text(unknown).replace("nobody.here", "") == visible_text(wrong).replace(
        IG_LEAD, ""
    )


async def test_password_and_token_never_reach_the_audit_trail(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await sign_in(browser, IG_LEAD, "wrong password typed here")
    response = await sign_in(browser, IG_LEAD)
    token = response.headers["set-cookie"].split("=", 1)[1].split(";")[0]

    async with runtime.db.unit_of_work() as session:
        records = (await session.scalars(select(AuditRecord))).all()
        (user,) = (await session.scalars(select(User))).all()
        session.expunge_all()
    trail = " ".join(str(r.detail) for r in records)
    assert "user.signed_in" in {r.event for r in records}
    for secret in (PASSWORD, "wrong password typed here", token, user.password_hash):
        assert secret not in trail


async def test_sign_in_form_without_its_token_is_refused_and_writes_nothing(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await browser.get("/login")

    response = await browser.post("/login", data={"username": IG_LEAD, "password": PASSWORD})

    assert response.status_code == 403
    assert await _sessions(runtime) == []
    assert await _audit(runtime, "user.signed_in") == []


async def test_pages_without_a_session_redirect_to_sign_in(browser: httpx.AsyncClient) -> None:
    for path in ("/ig/agreements", "/ig/overrides"):
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"


async def test_sign_out_ends_the_session(browser: httpx.AsyncClient, runtime: Runtime) -> None:
    await sign_in(browser, IG_LEAD)
    stolen = dict(browser.cookies)

    response = await post_form(browser, "/logout", {}, token_from="/ig/agreements")

    assert response.status_code == 303
    assert "signed out" in visible_text(await browser.get(response.headers["location"]))
    (ended,) = await _sessions(runtime)
    assert ended.ended_at is not None
    (signed_out,) = await _audit(runtime, "user.signed_out")
    assert signed_out.detail["username"] == IG_LEAD
    browser.cookies.update(stolen)  # a copied cookie no longer opens anything
    assert (await browser.get("/ig/agreements")).headers["location"] == "/login"


async def test_sign_out_without_the_form_token_is_403_and_the_session_stays(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await sign_in(browser, IG_LEAD)

    missing = await browser.post("/logout", data={})
    wrong = await browser.post("/logout", data={"csrf_token": "a" * 43})

    assert missing.status_code == wrong.status_code == 403
    (live,) = await _sessions(runtime)
    assert live.ended_at is None
    assert await _audit(runtime, "user.signed_out") == []
    assert (await browser.get("/ig/agreements")).status_code == 200


async def test_expired_session_redirects_to_sign_in(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await sign_in(browser, IG_LEAD)
    started = runtime.clock()
    runtime.clock = lambda: started + timedelta(minutes=runtime.settings.web.session_minutes + 1)

    response = await browser.get("/ig/agreements")

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_pages_forbid_framing_and_foreign_content(browser: httpx.AsyncClient) -> None:
    for page in (await browser.get("/login"), await sign_in(browser, IG_LEAD, "wrong one here")):
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
    stylesheet = await browser.get("/web/style.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")


async def test_every_form_carries_the_sessions_token(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await sign_in(browser, IG_LEAD)

    page = await browser.get("/ig/agreements")

    (live,) = await _sessions(runtime)
    assert form_token(page) == live.csrf_token


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_role_lands_on_its_own_pages(
    browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_person(runtime, "duty.night", TRUST, role="duty")

    duty = await sign_in(browser, "duty.night")
    again = await browser.get("/login")
    refused = await browser.get("/ig/agreements")

    assert duty.headers["location"] == "/duty"
    assert again.headers["location"] == "/duty"
    assert refused.status_code == 403
    assert 'href="/duty"' in refused.text
    assert "Overrides" not in visible_text(refused)
