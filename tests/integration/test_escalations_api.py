"""Duty teams' escalations over the API: what they see, and closing them."""

from datetime import timedelta

from sqlalchemy import select

from broker.db.models import AuditRecord
from schemas.vocabulary import EscalationStep, Scope
from tests.integration.escalation_records import (
    LOCAL_ID,
    RATIONALE,
    REASON,
    escalate,
    routed,
    stop_the_clock,
)
from tests.rows import row_counts
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World

TRUST_TEAM = {"name": "Crisis resolution team", "email": "crt.duty@riverside.nhs.uk"}
ACK = {"outcome": "contacted_recipient", "acknowledged_by": {"name": "D. Shaw", "role": "AMHP"}}


async def test_duty_team_sees_its_open_escalations_most_overdue_first_without_the_content(
    world: World,
) -> None:
    assert (await world.put("admin", f"/v1/agencies/{TRUST}/duty-team", TRUST_TEAM)).is_success
    message_id = await routed(world, [COUNCIL, HOUSING], type="risk.changed", urgency="urgent")
    stop_the_clock(world)
    recent = await escalate(world, message_id, COUNCIL, late=timedelta(minutes=12))
    oldest = await escalate(
        world,
        message_id,
        HOUSING,
        to=COUNCIL,
        route=EscalationStep.COORDINATOR,
        late=timedelta(hours=1, minutes=5),
    )
    await escalate(world, message_id, HOUSING, step=2, late=timedelta(minutes=1))

    response = await world.get(COUNCIL, "/v1/escalations", status="open")

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["reference"], i["late_by"]) for i in items] == [
        (oldest.reference, "PT1H5M"),
        (recent.reference, "PT12M"),
    ]
    first, second = items
    assert (first["route"], first["breach"], first["status"]) == (
        "coordinator",
        "acknowledgement",
        "open",
    )
    assert first["coordinator"] == {
        "agency": COUNCIL,
        "role": "social worker",
        "named_lead": "B. Jones",
    }
    assert second["coordinator"] is None
    delivery = second["delivery"]
    assert (delivery["delivery_id"], delivery["message_id"]) == (
        recent.delivery_id,
        str(message_id),
    )
    assert (delivery["event_type"], delivery["urgency"], delivery["purpose"]) == (
        "risk.changed",
        "urgent",
        "direct_care",
    )
    assert (delivery["recipient_agency"], delivery["status"]) == (COUNCIL, "pending")
    assert delivery["ack_by"] is not None
    assert second["sender"] == {
        "agency": TRUST,
        "name": "Riverside Mental Health NHS Trust",
        "duty_team": TRUST_TEAM,
    }
    for secret in (NHS_NUMBER, RATIONALE, REASON, LOCAL_ID):
        assert secret not in response.text
    housing = (await world.get(HOUSING, "/v1/escalations")).json()["items"]
    assert [i["delivery"]["recipient_agency"] for i in housing] == [HOUSING]


async def test_acknowledging_an_escalation_closes_it_once_for_its_own_agency_only(
    world: World,
) -> None:
    message_id = await routed(world, [COUNCIL], type="risk.changed", urgency="urgent")
    stop_the_clock(world)
    item = await escalate(world, message_id, COUNCIL, late=timedelta(minutes=3))
    other = await escalate(world, message_id, COUNCIL, step=2, late=timedelta(minutes=1))
    ack_path = f"/v1/escalations/{item.id}/ack"
    admin_only = await world.token_for(COUNCIL, [Scope.ADMIN])
    before = await row_counts(world.rt, AuditRecord)

    not_theirs = await world.post(HOUSING, ack_path, ACK)
    bad = await world.post(COUNCIL, ack_path, {**ACK, "outcome": "sorted"})
    unscoped = await world.api.get(
        "/v1/escalations", headers={"Authorization": f"Bearer {admin_only}"}
    )
    nothing_written = await row_counts(world.rt, AuditRecord)
    acked = await world.post(COUNCIL, ack_path, ACK)
    again = await world.post(COUNCIL, ack_path, ACK)

    assert not_theirs.status_code == 404
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["errors"]] == [["body", "outcome"]]
    assert unscoped.status_code == 403
    assert nothing_written == before
    assert acked.status_code == 200, acked.text
    closed = acked.json()
    assert (closed["status"], closed["outcome"]) == ("acknowledged", "contacted_recipient")
    assert closed["closed_by"] == ACK["acknowledged_by"]
    assert closed["late_by"] == "PT3M"
    assert again.status_code == 409
    assert (await world.get(COUNCIL, f"/v1/escalations/{item.id}")).json() == closed
    assert (await world.get(HOUSING, f"/v1/escalations/{item.id}")).status_code == 404
    first = (await world.get(COUNCIL, "/v1/escalations", limit=1)).json()
    rest = (
        await world.get(COUNCIL, "/v1/escalations", limit=1, cursor=first["next_cursor"])
    ).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == [other.id, item.id]
    assert rest["next_cursor"] is None
    still_open = (await world.get(COUNCIL, "/v1/escalations", status="open")).json()["items"]
    assert [i["id"] for i in still_open] == [other.id]
    acknowledged = select(AuditRecord.detail).where(AuditRecord.event == "escalation.acknowledged")
    async with world.rt.db.unit_of_work() as session:
        audited = (await session.scalars(acknowledged)).all()
    assert [(d["reference"], d["outcome"]) for d in audited] == [(item.reference, ACK["outcome"])]
