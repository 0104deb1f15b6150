"""A partnership with something of every kind a partner agency could covet, for the
authorization matrices: the person's care team and consent, an agreement, a delivery in the
council's inbox, an escalation, an override, an active crisis plan, a duty team and limits.

Everything belongs to TRUST, COUNCIL and HOUSING; GP is the hostile partner: registered, with
every partner scope, and no relationship to any of it. What the outsider must never see is
listed in `FOREIGN`; `snapshot` tells whether anything was written.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from broker.db.models import Base, Override
from tests.integration.deadlines import dispatched_here, routed_here
from tests.integration.escalation_records import RATIONALE, escalate, routed
from tests.world import (
    CARE_TEAM,
    COUNCIL,
    HOUSING,
    NHS_NUMBER,
    SAFEGUARDING_BASIS,
    SAFEGUARDING_OVERRIDE,
    TRUST,
    World,
    crisis_plan,
    risk_event,
)

OUTSIDER = "GP001"
EVIDENCE = "Told the ward she does not want housing told about the admission."
TRIGGER = "Talks of walking to the railway bridge at night"
DUTY_EMAIL = "duty.team@council.example"
WEBHOOK_HOST = "epr-inbound.council.example"
AGREEMENT_TITLE = "Community mental health partnership"
RECORDER = {"name": "A. Patel", "role": "care coordinator"}
FOREIGN = [
    NHS_NUMBER,
    EVIDENCE,
    TRIGGER,
    RATIONALE,
    DUTY_EMAIL,
    WEBHOOK_HOST,
    "whsec_",
    AGREEMENT_TITLE,
    *(member["named_lead"] for member in CARE_TEAM["members"]),
    TRUST,
    COUNCIL,
    HOUSING,
]
# Tables whose rows are bookkeeping of the broker itself, not anybody's records.
UNWATCHED = {"audit_chain", "audit_chain_head", "audit_checkpoints"}


@dataclass(frozen=True)
class Estate:
    ids: dict[str, str]


async def build_estate(world: World) -> Estate:
    ids: dict[str, str] = {"nhs": NHS_NUMBER, "agreement": await _agreement_id(world)}
    ids["consent"] = await _refuse_housing(world)
    to_council = await routed(world, [COUNCIL])
    await dispatched_here(world.rt, [to_council])
    opened = await escalate(world, to_council, COUNCIL, late=timedelta(minutes=3))
    ids |= {"message": str(to_council), "delivery": opened.delivery_id, "escalation": opened.id}
    ids["override"] = await _override(world)
    ids["plan"] = await _active_plan(world)
    team = {"name": "Council duty", "email": DUTY_EMAIL}
    assert (await world.put("admin", f"/v1/agencies/{COUNCIL}/duty-team", team)).status_code == 200
    limits = {"publish": "100/minute"}
    set_ = await world.put("admin", f"/v1/agencies/{COUNCIL}/rate-limits", limits)
    assert set_.status_code == 200
    channel = {"kind": "webhook", "url": f"https://{WEBHOOK_HOST}/imb"}
    set_ = await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", channel)
    assert set_.status_code == 200
    ids["council_client"] = world.credentials[COUNCIL][0]
    return Estate(ids)


async def _agreement_id(world: World) -> str:
    listed = (await world.get("admin", "/v1/agreements")).json()["items"]
    agreement_id: str = listed[0]["id"]
    return agreement_id


async def _refuse_housing(world: World) -> str:
    body = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": RECORDER,
        "evidence": EVIDENCE,
    }
    response = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", body)
    assert response.status_code == 201, response.text
    consent_id: str = response.json()["id"]
    return consent_id


async def _override(world: World) -> str:
    await world.agree([TRUST, HOUSING], lawful_basis=SAFEGUARDING_BASIS)
    event = risk_event(recipients=[HOUSING], purpose="safeguarding", override=SAFEGUARDING_OVERRIDE)
    message_id = await routed_here(world, TRUST, event)
    async with world.rt.db.unit_of_work() as session:
        override_id = await session.scalar(
            select(Override.id).where(Override.message_id == message_id)
        )
    assert override_id is not None
    return str(override_id)


async def _active_plan(world: World) -> str:
    plans = f"/v1/subjects/{NHS_NUMBER}/crisis-plans"
    plan = crisis_plan(COUNCIL, TRUST, trigger=TRIGGER)
    proposed = await world.post(COUNCIL, plans, plan)
    assert proposed.status_code == 201, proposed.text
    plan_id: str = proposed.json()["id"]
    confirmation = {"confirmed_by": {"name": "E. Nwosu", "role": "team manager"}}
    confirmed = await world.post(TRUST, f"{plans}/{plan_id}/confirmations", confirmation)
    assert confirmed.json()["status"] == "active", confirmed.text
    return plan_id


async def snapshot(world: World) -> dict[str, str]:
    """A digest of every table's rows, to tell whether anything was written."""
    digests = {}
    async with world.rt.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in UNWATCHED:
                continue
            rows = (await connection.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            flat = sorted(repr(tuple(row)) for row in rows)
            digests[table.name] = hashlib.sha256("\n".join(flat).encode()).hexdigest()
    return digests


async def audit_actors_since(world: World, count: int) -> list[str | None]:
    """Who made each audit record after the first `count`."""
    async with world.rt.db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT actor_agency FROM audit_records ORDER BY id"), {}
        )
        return [agency for (agency,) in rows.all()][count:]


def foreign_in(body: str, request: str) -> list[str]:
    """What of the others' data the body shows, leaving out what the request itself named."""
    return [marker for marker in FOREIGN if marker in body and marker not in request]


def fill(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


def request_text(path: str, body: Any) -> str:
    return f"{path} {body!r}"
