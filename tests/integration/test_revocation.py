"""Revocation that bites: a revoked, re-keyed or deleted client's tokens stop working within a
second on every process, and a disabled person's sessions end at once."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from broker.api.app import create_app
from broker.auth.revocation import ClientStatus
from broker.db.models import AuditRecord
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.users.service import disable_user, enable_user
from tests.rows import row_counts
from tests.web import OPERATOR, add_person, sign_in, web_client
from tests.world import COUNCIL, HOUSING, World


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _token_of(api: httpx.AsyncClient, credentials: tuple[str, str]) -> dict[str, str]:
    response = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Ticking]]:
    """A second broker process over the same database, with a clock the test controls."""
    rt: Runtime = build_runtime(settings)
    clock = Ticking()
    rt.client_status = ClientStatus(clock=clock)
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://imb-2.test") as api:
        yield api, clock
    await rt.close()


async def _audited(world: World, event: str) -> list[dict[str, object]]:
    async with world.rt.db.unit_of_work() as session:
        found = await session.scalars(select(AuditRecord.detail).where(AuditRecord.event == event))
        return list(found.all())


async def test_a_revoked_clients_live_token_stops_within_a_second_on_every_process(
    world: World, other_process: tuple[httpx.AsyncClient, Ticking]
) -> None:
    elsewhere, clock = other_process
    client_id, _ = world.credentials[COUNCIL]
    token = await _token_of(world.api, world.credentials[COUNCIL])
    assert (await elsewhere.get("/v1/inbox", headers=token)).status_code == 200

    revoked = await world.post("admin", f"/v1/clients/{client_id}/revoke", {})

    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    here = await world.api.get("/v1/inbox", headers=token)
    assert here.status_code == 401 and "revoked" in here.json()["detail"]
    clock.now += 0.99  # the other process read the row 0.99 s ago: it may still let it in
    assert (await elsewhere.get("/v1/inbox", headers=token)).status_code == 200
    clock.now += 0.01  # a second after its last look, it looks again
    assert (await elsewhere.get("/v1/inbox", headers=token)).status_code == 401
    again = await world.api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=world.credentials[COUNCIL]
    )
    assert again.status_code == 401
    [detail] = await _audited(world, "client.revoked")
    assert detail["client_id"] == client_id and detail["agency"] == COUNCIL


async def test_rotating_a_secret_ends_the_old_secret_and_every_token_issued_for_it(
    world: World, other_process: tuple[httpx.AsyncClient, Ticking]
) -> None:
    elsewhere, clock = other_process
    client_id, old_secret = world.credentials[HOUSING]
    old_token = await _token_of(world.api, (client_id, old_secret))
    assert (await elsewhere.get("/v1/inbox", headers=old_token)).status_code == 200

    rotated = await world.post("admin", f"/v1/clients/{client_id}/rotate-secret", {})

    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret and new_secret != old_secret
    clock.now += 1.0
    for api in (world.api, elsewhere):
        assert (await api.get("/v1/inbox", headers=old_token)).status_code == 401
    refused = await world.api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, old_secret)
    )
    assert refused.status_code == 401
    new_token = await _token_of(world.api, (client_id, new_secret))
    assert (await elsewhere.get("/v1/inbox", headers=new_token)).status_code == 200
    [detail] = await _audited(world, "client.secret_rotated")
    assert detail["credentials_version"] == 2 and new_secret not in str(detail)


async def test_a_deleted_clients_token_stops_working(world: World) -> None:
    client_id, _ = world.credentials[COUNCIL]
    token = await _token_of(world.api, world.credentials[COUNCIL])
    async with world.rt.db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM clients WHERE client_id = :c"), {"c": client_id})
    world.rt.client_status.forget(client_id)

    response = await world.api.get("/v1/inbox", headers=token)

    assert response.status_code == 401


async def test_administrators_list_clients_without_secrets_and_others_cannot(
    world: World,
) -> None:
    client_id, secret = world.credentials[COUNCIL]

    listed = await world.get("admin", "/v1/clients", agency=COUNCIL)
    one = await world.get("admin", f"/v1/clients/{client_id}")
    partner = await world.get(COUNCIL, "/v1/clients")
    partner_revoke = await world.post(COUNCIL, f"/v1/clients/{client_id}/revoke", {})

    assert listed.status_code == 200
    assert client_id in [c["client_id"] for c in listed.json()["items"]]
    assert {c["agency"] for c in listed.json()["items"]} == {COUNCIL}
    assert one.json()["auth_method"] == "client_secret" and one.json()["revoked_at"] is None
    assert secret not in listed.text + one.text and "secret_hash" not in listed.text
    assert (partner.status_code, partner_revoke.status_code) == (403, 403)


async def test_revoking_twice_or_an_unknown_client_is_refused_and_writes_nothing(
    world: World,
) -> None:
    client_id, _ = world.credentials[COUNCIL]
    assert (await world.post("admin", f"/v1/clients/{client_id}/revoke", {})).status_code == 200
    before = await row_counts(world.rt, AuditRecord)

    twice = await world.post("admin", f"/v1/clients/{client_id}/revoke", {})
    unknown = await world.post("admin", "/v1/clients/imb_nobody/revoke", {})
    rotate_revoked = await world.post("admin", f"/v1/clients/{client_id}/rotate-secret", {})

    assert (twice.status_code, unknown.status_code, rotate_revoked.status_code) == (409, 404, 409)
    assert await row_counts(world.rt, AuditRecord) == before


async def test_a_disabled_persons_open_session_ends_at_once(world: World) -> None:
    await add_person(world.rt, "ig.council", COUNCIL)
    async with web_client(world.rt) as browser:
        await sign_in(browser, "ig.council")
        assert (await browser.get("/ig/agreements")).status_code == 200
        async with world.rt.db.unit_of_work() as session:
            await disable_user(session, world.rt, OPERATOR, "ig.council")
            await session.commit()

        after = await browser.get("/ig/agreements")
        refused = await sign_in(browser, "ig.council")
        async with world.rt.db.unit_of_work() as session:
            await enable_user(session, world.rt, OPERATOR, "ig.council")
            await session.commit()
        welcome_back = await sign_in(browser, "ig.council")

    assert after.status_code == 303 and after.headers["location"] == "/login"
    assert refused.status_code == 401
    assert welcome_back.status_code == 303
    [disabled] = await _audited(world, "user.disabled")
    assert disabled["username"] == "ig.council" and disabled["sessions_ended"] == 1
    assert len(await _audited(world, "user.enabled")) == 1


async def test_requests_that_find_the_memory_stale_together_share_one_read_of_the_client(
    world: World, other_process: tuple[httpx.AsyncClient, Ticking]
) -> None:
    """Under load the memory goes stale for every waiting request at once: they must not each
    take a connection to read the same row (the pool would overflow and churn)."""
    elsewhere, clock = other_process
    token = await _token_of(world.api, world.credentials[COUNCIL])
    assert (await elsewhere.get("/v1/inbox", headers=token)).status_code == 200
    reads: list[str] = []
    engine = Engine  # every engine: the other process's too

    def count_client_reads(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM clients" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count_client_reads)
    try:
        clock.now += 1.0
        answers = await asyncio.gather(
            *(elsewhere.get("/v1/inbox", headers=token) for _ in range(20))
        )
    finally:
        event.remove(engine, "before_cursor_execute", count_client_reads)

    assert [a.status_code for a in answers] == [200] * 20
    assert len(reads) == 1
