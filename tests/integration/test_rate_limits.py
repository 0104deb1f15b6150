"""Rate limits and lockout: a burst of guesses or calls meets 429 with Retry-After and the
RateLimit fields, and writes nothing; repeated failed sign-ins lock a username out, for longer
each time, even against the right password."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from broker.api.app import create_app
from broker.db.models import AuditRecord, Message
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.users.service import unlock_user
from tests.rows import row_counts
from tests.web import OPERATOR, add_person, form_token, sign_in, visible_text, web_client
from tests.world import COUNCIL, HOUSING, TRUST, World, build_world

# Counts live in the limits store, not the database: once, on SQLite. Lockouts, kept in the
# database, run on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PASSWORD = "correct horse battery staple"


def _limited(response: httpx.Response, policy: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-policy"].startswith(f'"{policy}";q=')
    assert response.headers["ratelimit"].startswith(f'"{policy}";r=0;t=')
    assert response.json()["type"] == "urn:imb:problem:too-many-requests"


@SQLITE_ONLY
async def test_a_burst_of_wrong_secrets_for_one_client_meets_429(world: World) -> None:
    client_id, secret = world.credentials[COUNCIL]
    form = {"grant_type": "client_credentials"}

    answers = [
        await world.api.post("/oauth/token", data=form, auth=(client_id, f"guess-{n}"))
        for n in range(31)
    ]
    right_secret_now = await world.api.post("/oauth/token", data=form, auth=(client_id, secret))

    assert [a.status_code for a in answers[:30]] == [401] * 30
    _limited(answers[30], "token-client")
    _limited(right_secret_now, "token-client")
    other_client = await world.api.post("/oauth/token", data=form, auth=world.credentials[TRUST])
    assert other_client.status_code == 200


@SQLITE_ONLY
async def test_guessing_a_clients_secret_from_one_address_does_not_lock_it_out_elsewhere(
    world: World, settings: Settings
) -> None:
    client_id, secret = world.credentials[COUNCIL]
    form = {"grant_type": "client_credentials"}
    for n in range(31):
        await world.api.post("/oauth/token", data=form, auth=(client_id, f"guess-{n}"))
    elsewhere = httpx.ASGITransport(app=create_app(world.rt), client=("192.0.2.7", 443))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://imb.test") as council:
        own = await council.post("/oauth/token", data=form, auth=(client_id, secret))

    assert own.status_code == 200, own.text


@SQLITE_ONLY
async def test_many_client_ids_from_one_address_meet_429(world: World) -> None:
    world.rt.settings.rate_limit.token_per_address = "5/hour"
    form = {"grant_type": "client_credentials"}

    answers = [
        await world.api.post("/oauth/token", data=form, auth=(f"imb_guess{n}", "x"))
        for n in range(6)
    ]

    assert [a.status_code for a in answers[:5]] == [401] * 5
    _limited(answers[5], "token-address")


@SQLITE_ONLY
async def test_an_agencys_publishing_limit_stops_the_next_event_and_writes_nothing(
    world: World,
) -> None:
    limits = {"publish": "3/hour", "read": None}
    set_ = await world.put("admin", f"/v1/agencies/{TRUST}/rate-limits", limits)
    assert set_.status_code == 200, set_.text
    for _ in range(3):
        assert (await world.publish(recipients=[COUNCIL])).status_code == 202
    before = await row_counts(world.rt, Message, AuditRecord)

    over = await world.publish(recipients=[COUNCIL])
    reading = await world.get(TRUST, "/v1/inbox")

    _limited(over, "publish")
    assert await row_counts(world.rt, Message, AuditRecord) == before
    assert reading.status_code == 200  # reads count against their own limit
    assert set_.json() == {
        "agency": TRUST,
        "publish": "3/hour",
        "read": None,
        "effective_publish": "3/hour",
        "effective_read": world.rt.settings.rate_limit.read,
    }


@SQLITE_ONLY
async def test_agency_limits_are_set_by_administrators_and_read_by_the_agency(
    world: World,
) -> None:
    path = f"/v1/agencies/{COUNCIL}/rate-limits"

    by_partner = await world.put(COUNCIL, path, {"publish": "10/minute"})
    bad_rate = await world.put("admin", path, {"publish": "lots"})
    unknown = await world.put("admin", "/v1/agencies/NOPE1/rate-limits", {"read": "1/second"})
    own = await world.get(COUNCIL, path)
    another = await world.get(HOUSING, path)

    assert by_partner.status_code == 403
    assert bad_rate.status_code == 422
    assert ["body", "publish"] in [e["loc"] for e in bad_rate.json()["errors"]]
    assert unknown.status_code == 422
    assert own.status_code == 200 and own.json()["publish"] is None
    assert another.status_code == 404
    assert (await world.put("admin", path, {"read": "100/minute"})).status_code == 200
    async with world.rt.db.unit_of_work() as session:
        [detail] = (
            await session.scalars(
                select(AuditRecord.detail).where(AuditRecord.event == "agency.rate_limits_set")
            )
        ).all()
    assert detail == {"agency": COUNCIL, "publish": None, "read": "100/minute"}


async def test_repeated_failed_sign_ins_lock_the_username_even_against_the_right_password(
    world: World,
) -> None:
    await add_person(world.rt, "ig.council", COUNCIL)
    moment = world.rt.clock()
    world.rt.clock = lambda: moment
    async with web_client(world.rt) as browser:
        failures = [await sign_in(browser, "ig.council", "wrong password!") for _ in range(5)]
        right_but_locked = await sign_in(browser, "ig.council")
        world.rt.clock = lambda: moment + timedelta(seconds=61)
        after_the_lockout = await sign_in(browser, "ig.council")

    assert [f.status_code for f in failures[:4]] == [401] * 4
    assert failures[4].status_code == 429  # the fifth failure locks the username
    assert right_but_locked.status_code == 429
    assert int(right_but_locked.headers["retry-after"]) == 60
    assert "even the right password is refused" in visible_text(right_but_locked)
    assert after_the_lockout.status_code == 303
    async with world.rt.db.unit_of_work() as session:
        locks = (
            await session.scalars(
                select(AuditRecord.detail).where(AuditRecord.event == "user.locked_out")
            )
        ).all()
    assert [(d["username"], d["lockouts"]) for d in locks] == [("ig.council", 1)]


async def test_a_burst_of_guesses_at_once_gets_no_more_than_five_checked(world: World) -> None:
    await add_person(world.rt, "ig.council", COUNCIL)
    async with web_client(world.rt) as browser:
        page = await browser.get("/login")
        token = form_token(page)

        async def attempt(password: str) -> httpx.Response:
            fields = {"username": "ig.council", "password": password, "csrf_token": token}
            return await browser.post("/login", data=fields)

        burst = await asyncio.gather(*(attempt(f"wrong guess {n}") for n in range(8)))
        right_after = await sign_in(browser, "ig.council")  # with a fresh form

    statuses = [a.status_code for a in burst]
    assert statuses.count(401) == 4, statuses  # four checked and refused, the fifth locked
    assert statuses.count(429) == 4, statuses  # the rest refused unchecked
    assert right_after.status_code == 429


async def test_an_administrator_unlocks_a_locked_out_person_at_once(world: World) -> None:
    await add_person(world.rt, "ig.council", COUNCIL)
    async with web_client(world.rt) as browser:
        for _ in range(5):
            await sign_in(browser, "ig.council", "wrong password!")
        async with world.rt.db.unit_of_work() as session:
            await unlock_user(session, world.rt, OPERATOR, "ig.council")
            await session.commit()
        unlocked = await sign_in(browser, "ig.council")

    assert unlocked.status_code == 303
    async with world.rt.db.unit_of_work() as session:
        events = (
            await session.scalars(
                select(AuditRecord.event).where(AuditRecord.event.like("user.%lock%"))
            )
        ).all()
    assert events == ["user.locked_out", "user.unlocked"]


async def test_each_further_lockout_lasts_twice_as_long_and_unknown_names_lock_alike(
    world: World,
) -> None:
    moment = world.rt.clock()
    world.rt.clock = lambda: moment
    async with web_client(world.rt) as browser:
        for _ in range(5):
            first = await sign_in(browser, "nobody.here", "wrong password!")
        world.rt.clock = lambda: moment + timedelta(seconds=61)
        for _ in range(5):
            second = await sign_in(browser, "nobody.here", "wrong password!")

    assert first.status_code == second.status_code == 429
    assert (first.headers["retry-after"], second.headers["retry-after"]) == ("60", "120")


async def test_a_flood_of_sign_ins_from_one_address_meets_429_and_writes_nothing(
    world: World,
) -> None:
    world.rt.settings.rate_limit.sign_in_per_address = "3/hour"
    async with web_client(world.rt) as browser:
        for _ in range(3):
            await sign_in(browser, "someone", "wrong password!")
        before = await row_counts(world.rt, AuditRecord)
        flood = await sign_in(browser, "someone.else", "wrong password!")

    assert flood.status_code == 429 and flood.headers["retry-after"]
    assert "Too many" in visible_text(flood)
    assert await row_counts(world.rt, AuditRecord) == before


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@asynccontextmanager
async def _process(
    settings: Settings, name: str
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A broker process of its own over the test's database."""
    rt = build_runtime(settings)
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}.test") as api:
        yield rt, api
    await rt.close()


@SQLITE_ONLY
@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
async def test_with_redis_every_process_counts_against_the_same_limit(settings: Settings) -> None:
    settings.rate_limit.storage_url = "redis://127.0.0.1:6379/0"
    settings.rate_limit.token_per_client = "4/hour"
    form = {"grant_type": "client_credentials"}
    async with _process(settings, "imb-1") as (rt, one), _process(settings, "imb-2") as (_, two):
        world = await build_world(rt, one)
        client_id, _ = world.credentials[COUNCIL]
        answers = [
            await api.post("/oauth/token", data=form, auth=(client_id, "x"))
            for api in (one, one, two, two, two)
        ]

    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]


@SQLITE_ONLY
async def test_an_unreachable_store_lets_calls_through_and_says_so(settings: Settings) -> None:
    settings.rate_limit.storage_url = "redis://127.0.0.1:1/0"
    async with _process(settings, "imb") as (rt, api):
        world = await build_world(rt, api)
        published = await world.publish(recipients=[COUNCIL])

    assert published.status_code == 202
    assert rt.metrics.rate_limit_store_errors._value.get() > 0
