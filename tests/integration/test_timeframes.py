"""The timeframe policy: read by partners, replaced by an administrator, tightened (never
loosened) by an agreement, and stamped on every delivery as deliver_by and ack_by.

The router is driven directly at a set moment, so each deadline can be checked to the second.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from broker.db.models import AgreementVersion, AuditRecord, TimeframePolicy
from broker.pipeline.dispatch import make_available
from broker.pipeline.route import route_messages
from tests.rows import row_counts
from tests.world import COUNCIL, GP, TRUST, World, agreement_body

SHORT_POLICIES: list[dict[str, Any]] = [
    {
        "event_type": "risk.changed",
        "urgency": "*",
        "deliver_within": "PT30S",
        "ack_within": "PT10M",
        "escalation": ["duty_team", "coordinator"],
        "escalation_interval": "PT5M",
    },
    {
        "event_type": "*",
        "urgency": "*",
        "deliver_within": "PT1H",
        "ack_within": "P3D",
        "escalation": ["sender_report"],
    },
]


@pytest.fixture
def routed_at(world: World) -> datetime:
    """Shortly after the world's set-up (its agreement is in force), on a whole second, so
    that deadlines compare exactly."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


async def _route(world: World, at: datetime, **event: Any) -> dict[str, Any]:
    """Publish, route at `at`, and return the sender's view of the message."""
    message_id = (await world.publish(**event)).json()["message_id"]
    world.rt.clock = lambda: at
    async with world.rt.db.unit_of_work() as session:
        await route_messages(session, world.rt, [UUID(message_id)])
        await session.commit()
    view: dict[str, Any] = (await world.get(TRUST, f"/v1/events/{message_id}")).json()
    return view


def _deadlines(entry: dict[str, Any], at: datetime) -> tuple[timedelta, timedelta]:
    deliver_by = datetime.fromisoformat(entry["deliver_by"])
    ack_by = datetime.fromisoformat(entry["ack_by"])
    return deliver_by - at, ack_by - at


async def test_every_partner_reads_the_default_policy_by_urgency_and_risk(world: World) -> None:
    response = await world.get(COUNCIL, "/v1/timeframes")

    assert response.status_code == 200
    rows = {
        (p["event_type"], p["urgency"], p["risk_level"]): p for p in response.json()["policies"]
    }
    assert len(rows) == 30
    crisis = rows[("crisis.occurred", "*", "very_high")]
    assert (crisis["deliver_within"], crisis["ack_within"]) == ("PT1M", "PT10M")
    assert crisis["escalation"] == ["duty_team", "coordinator"]
    assert rows[("risk.changed", "urgent", "high")]["ack_within"] == "PT1H"
    assert rows[("risk.changed", "emergency", "medium")]["ack_within"] == "PT15M"
    assert rows[("engagement.disengaged", "routine", "low")]["escalation"] == ["duty_team"]
    assert rows[("*", "*", None)]["ack_within"] == "P3D"
    assert rows[("*", "*", None)]["escalation"] == ["sender_report"]


async def test_deliveries_carry_the_deadlines_of_the_policy_in_force_when_routed(
    world: World, routed_at: datetime
) -> None:
    high = await _route(world, routed_at)
    replaced = await world.put("admin", "/v1/timeframes", {"policies": SHORT_POLICIES})
    after = await _route(world, routed_at)

    assert replaced.status_code == 200, replaced.text
    for entry in high["recipients"]:
        assert _deadlines(entry, routed_at) == (timedelta(minutes=5), timedelta(hours=1))
    for entry in after["recipients"]:
        assert _deadlines(entry, routed_at) == (timedelta(seconds=30), timedelta(minutes=10))
        assert entry["breached"] is False
    council = next(e for e in after["recipients"] if e["agency"] == COUNCIL)
    async with world.rt.db.unit_of_work() as session:
        await make_available(session, world.rt, [UUID(council["delivery_id"])])
        await session.commit()
    (in_inbox,) = await world.inbox(COUNCIL)
    assert datetime.fromisoformat(in_inbox["ack_by"]) == routed_at + timedelta(minutes=10)
    async with world.rt.db.unit_of_work() as session:
        audit = await session.scalar(
            AuditRecord.__table__.select()
            .with_only_columns(AuditRecord.detail)
            .where(AuditRecord.event == "timeframes.replaced")
        )
    assert audit is not None
    assert audit["policies"][0]["ack_within"] == "PT10M"
    assert any(p["event_type"] == "crisis.occurred" for p in audit["previous"])


async def test_a_withheld_delivery_has_no_deadline_to_keep(
    world: World, routed_at: datetime
) -> None:
    view = await _route(world, routed_at, recipients=[GP])  # GP is party to no agreement

    (gp,) = view["recipients"]
    assert gp["status"] == "withheld"
    assert (gp["deliver_by"], gp["ack_by"]) == (None, None)


async def test_an_agreement_shortens_the_deadlines_for_its_parties(
    world: World, routed_at: datetime
) -> None:
    terms = {
        "timeframes": [{"event_type": "risk.changed", "risk_level": "high", "ack_within": "PT20M"}]
    }
    await world.agree([TRUST, GP], **terms)

    view = await _route(world, routed_at, recipients=[GP, COUNCIL])

    entries = {e["agency"]: e for e in view["recipients"]}
    assert _deadlines(entries[GP], routed_at) == (timedelta(minutes=5), timedelta(minutes=20))
    assert _deadlines(entries[COUNCIL], routed_at) == (timedelta(minutes=5), timedelta(hours=1))


@pytest.mark.parametrize(
    ("row", "loc"),
    [
        ({"event_type": "crisis.occurred", "ack_within": "PT2H"}, "ack_within"),
        ({"event_type": "risk.changed", "deliver_within": "PT2H"}, "deliver_within"),
    ],
)
async def test_an_agreement_that_would_loosen_a_timeframe_is_refused(
    world: World, row: dict[str, Any], loc: str
) -> None:
    before = await row_counts(world.rt, AgreementVersion, AuditRecord)

    response = await world.post(
        "admin", "/v1/agreements", agreement_body([TRUST, GP], timeframes=[row])
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "timeframes", 0, loc]
    assert "only shorten" in problem["errors"][0]["msg"]
    assert await row_counts(world.rt, AgreementVersion, AuditRecord) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"deliver_within": "-PT5M"}, ["body", "policies", 0, "deliver_within"]),
        ({"ack_within": 3600}, ["body", "policies", 0, "ack_within"]),
        ({"event_type": "housing.notice"}, ["body", "policies", 0, "event_type"]),
        ({"escalation": []}, ["body", "policies", 0, "escalation"]),
    ],
)
async def test_a_bad_policy_table_is_refused_and_the_old_one_stays(
    world: World, change: dict[str, Any], loc: list[Any]
) -> None:
    policies = [{**SHORT_POLICIES[0], **change}, SHORT_POLICIES[1]]
    before = await world.get(TRUST, "/v1/timeframes")

    response = await world.put("admin", "/v1/timeframes", {"policies": policies})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"][: len(loc)] == loc
    assert (await world.get(TRUST, "/v1/timeframes")).json() == before.json()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_only_an_administrator_replaces_the_policy(world: World) -> None:
    before = await row_counts(world.rt, TimeframePolicy, AuditRecord)

    response = await world.put(TRUST, "/v1/timeframes", {"policies": SHORT_POLICIES})
    no_catch_all = await world.put("admin", "/v1/timeframes", {"policies": SHORT_POLICIES[:1]})

    assert response.status_code == 403
    assert no_catch_all.status_code == 422
    assert "catch-all" in no_catch_all.text
    assert await row_counts(world.rt, TimeframePolicy, AuditRecord) == before
