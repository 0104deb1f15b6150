"""The duty console: a duty team's escalations and unacknowledged urgent alerts, most urgent
first, acknowledged by form, and nothing of another agency's."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, Delivery, Escalation, Message
from broker.escalations.service import open_escalation
from broker.runtime import Runtime
from schemas.vocabulary import BreachKind, EscalationStep
from tests.rows import row_counts
from tests.web import add_person, form_token, post_form, sign_in, visible_text, web_client
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, crisis_event, eventually

pytestmark = pytest.mark.usefixtures("pipeline")
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HOUSING_DUTY, HOUSING_IG = "duty.housing", "ig.housing"
TRUST_DUTY_TEAM = {"name": "Crisis line", "email": "crisis.line@riverside.nhs.test"}
ACK = {"outcome": "actioned", "name": "Sam Night", "role": "Duty manager", "note": "Called."}


@dataclass(frozen=True)
class Queue:
    """What the trust (whose duty team is on record) has sent: to housing an urgent risk
    alert (escalated 4 min ago) and a crisis; to the council a crisis, escalated to the
    council's duty team."""

    risk: UUID
    crisis: UUID
    escalation: UUID
    reference: str
    council_crisis: UUID
    council_escalation: UUID
    council_reference: str


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, HOUSING_DUTY, HOUSING, role="duty")
    await add_person(runtime, HOUSING_IG, HOUSING)
    async with web_client(runtime) as client:
        yield client


@pytest.fixture
async def queue(world: World, runtime: Runtime) -> Queue:
    risk = await _delivered(world, runtime, HOUSING, await world.publish(recipients=[HOUSING]))
    crisis_to = {
        agency: await _delivered(
            world,
            runtime,
            agency,
            await world.post(TRUST, "/v1/events", crisis_event(recipients=[agency])),
        )
        for agency in (HOUSING, COUNCIL)
    }
    response = await world.put("admin", f"/v1/agencies/{TRUST}/duty-team", TRUST_DUTY_TEAM)
    assert response.status_code == 200, response.text
    late = runtime.clock() - timedelta(minutes=4, seconds=10)
    escalation, reference = await _escalate(runtime, risk, late)
    council_escalation, council_reference = await _escalate(runtime, crisis_to[COUNCIL], late)
    return Queue(
        risk,
        crisis_to[HOUSING],
        escalation,
        reference,
        crisis_to[COUNCIL],
        council_escalation,
        council_reference,
    )


async def _delivered(
    world: World, runtime: Runtime, recipient: str, published: httpx.Response
) -> UUID:
    assert published.status_code == 202, published.text
    message_id = UUID(published.json()["message_id"])

    async def delivered() -> UUID | None:
        async with runtime.db.unit_of_work() as session:
            found: UUID | None = await session.scalar(
                select(Delivery.id).where(
                    Delivery.message_id == message_id,
                    Delivery.recipient_agency == recipient,
                    Delivery.status == "delivered",
                )
            )
            return found

    found = await eventually(delivered, lambda found: found is not None)
    assert found is not None
    return found


async def _escalate(runtime: Runtime, delivery_id: UUID, deadline: Any) -> tuple[UUID, str]:
    """The recipient duty team's escalation of a delivery, its deadline missed at `deadline`."""
    async with runtime.db.unit_of_work() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        message = await session.get(Message, delivery.message_id)
        assert message is not None
        item = open_escalation(
            session,
            runtime,
            message,
            delivery,
            step=0,
            route=EscalationStep.DUTY_TEAM,
            agency=delivery.recipient_agency,
            breach=BreachKind.ACKNOWLEDGEMENT,
            deadline=deadline,
        )
        await session.commit()
        return item.id, item.reference


async def _escalation(runtime: Runtime, escalation_id: UUID) -> Escalation:
    async with runtime.db.unit_of_work() as session:
        found = await session.get(Escalation, escalation_id)
        assert found is not None
        session.expunge(found)
        return found


async def _delivery(runtime: Runtime, delivery_id: UUID) -> Delivery:
    async with runtime.db.unit_of_work() as session:
        found = await session.get(Delivery, delivery_id)
        assert found is not None
        session.expunge(found)
        return found


def _order(page: httpx.Response, *keys: str) -> list[int]:
    return [page.text.index(f'id="{key}"') for key in keys]


async def test_duty_worker_sees_the_agencys_items_most_urgent_first_and_no_other_agencys(
    browser: httpx.AsyncClient, queue: Queue
) -> None:
    await sign_in(browser, HOUSING_DUTY)

    page = await browser.get("/duty")
    items = await browser.get("/duty/items")

    assert page.status_code == 200
    text = visible_text(page)
    assert f"Escalation {queue.reference}" in text
    assert "overdue by 4 min" in text
    assert "Sender's duty team Crisis line · crisis.line@riverside.nhs.test" in text
    # A crisis at immediate risk is acknowledged within ten minutes.
    assert re.search(r"crisis\.occurred emergency From RX4 [^·]* (9|10) min left", text), text
    # The escalated risk alert is shown once, inside its escalation, with its own time left.
    assert re.search(r"The alert delivered, acknowledge by [^·]* (59 min|1 h) left", text), text
    assert page.text.count(f'id="delivery-{queue.risk}"') == 1
    keys = f"escalation-{queue.escalation}", f"delivery-{queue.risk}", f"delivery-{queue.crisis}"
    positions = _order(page, *keys)
    assert positions == sorted(positions)
    assert queue.council_reference not in page.text
    assert str(queue.council_crisis) not in page.text
    for private in (NHS_NUMBER, "MRN-1001", "bridge parapet", "Stopped medication"):
        assert private not in page.text
    assert items.status_code == 200
    assert items.headers["cache-control"] == "no-store"
    assert f'id="escalation-{queue.escalation}"' in items.text
    assert "<html" not in items.text


async def test_acknowledging_an_escalation_from_the_page_closes_it_and_audits_who(
    browser: httpx.AsyncClient, runtime: Runtime, queue: Queue
) -> None:
    await sign_in(browser, HOUSING_DUTY)

    path = f"/duty/escalations/{queue.escalation}/ack"
    response = await post_form(browser, path, ACK, token_from="/duty")

    assert response.status_code == 303
    after = await browser.get(response.headers["location"])
    assert f"{queue.reference} acknowledged: actioned" in visible_text(after)
    assert f'id="escalation-{queue.escalation}"' not in after.text
    assert f'id="delivery-{queue.risk}"' in after.text  # the alert itself still awaits its ack
    closed = await _escalation(runtime, queue.escalation)
    assert (closed.status, closed.outcome) == ("acknowledged", "actioned")
    assert closed.closed_by == {"name": "Sam Night", "role": "Duty manager"}
    async with runtime.db.unit_of_work() as session:
        audited = (
            await session.execute(
                select(AuditRecord.actor_agency, AuditRecord.actor_client).where(
                    AuditRecord.event == "escalation.acknowledged"
                )
            )
        ).all()
    assert [tuple(row) for row in audited] == [(HOUSING, f"user:{HOUSING_DUTY}")]


async def test_acknowledging_an_alert_from_the_page_needs_a_reason_to_decline(
    browser: httpx.AsyncClient, runtime: Runtime, queue: Queue
) -> None:
    await sign_in(browser, HOUSING_DUTY)
    path = f"/duty/deliveries/{queue.crisis}/ack"
    declined = {**ACK, "outcome": "declined"}

    refused = await post_form(browser, path, declined, token_from="/duty")
    unchanged = await _delivery(runtime, queue.crisis)
    accepted = await post_form(
        browser, path, {**declined, "reason_code": "not_known_to_service"}, token_from="/duty"
    )

    assert refused.status_code == 422
    assert "declined acknowledgement needs a reason_code" in visible_text(refused)
    assert f'id="delivery-{queue.crisis}"' in refused.text
    assert (unchanged.status, unchanged.acknowledged_at) == ("delivered", None)
    assert accepted.status_code == 303
    after = visible_text(await browser.get(accepted.headers["location"]))
    assert "crisis.occurred from RX4 acknowledged: declined (not known to service)" in after
    acknowledged = await _delivery(runtime, queue.crisis)
    assert (acknowledged.status, acknowledged.ack_reason_code) == (
        "acknowledged",
        "not_known_to_service",
    )
    assert acknowledged.acknowledged_by == {"name": "Sam Night", "role": "Duty manager"}


@sqlite_only
async def test_a_forged_form_or_another_agencys_escalation_is_refused_and_writes_nothing(
    browser: httpx.AsyncClient, runtime: Runtime, queue: Queue
) -> None:
    await sign_in(browser, HOUSING_DUTY)
    token = form_token(await browser.get("/duty"))
    before = await row_counts(runtime, AuditRecord)

    forged = await browser.post(
        f"/duty/escalations/{queue.escalation}/ack", data={**ACK, "csrf_token": token[::-1]}
    )
    foreign = await browser.post(
        f"/duty/escalations/{queue.council_escalation}/ack", data={**ACK, "csrf_token": token}
    )

    assert forged.status_code == 403
    assert foreign.status_code == 404
    assert "belongs to another agency" in visible_text(foreign)
    assert await row_counts(runtime, AuditRecord) == before
    for escalation_id in (queue.escalation, queue.council_escalation):
        assert (await _escalation(runtime, escalation_id)).status == "open"


@sqlite_only
async def test_only_duty_teams_use_the_console(world: World, browser: httpx.AsyncClient) -> None:
    stranger = await browser.get("/duty/items")
    await sign_in(browser, HOUSING_IG)

    page = await browser.get("/duty")
    items = await browser.get("/duty/items")

    assert (stranger.status_code, stranger.headers["location"]) == (303, "/login")
    assert page.status_code == items.status_code == 403
    assert "duty console is for duty teams" in visible_text(page)
