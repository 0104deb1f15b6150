"""Decisions use the agreements and consents in force at the moment of routing, to the instant.

The router is driven directly here, with the runtime's clock set, so that each boundary is
crossed exactly; the pipeline tests show the same rules through Kafka.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from broker.pipeline.route import route_messages
from tests.world import GP, NHS_NUMBER, TRUST, World

RECORDER = {"name": "A. Patel", "role": "care coordinator"}
TICK = timedelta(microseconds=1)


def _soon() -> datetime:
    """A moment after anything the test's set-up approved or recorded, on a whole second."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def _routed_at(world: World, moment: datetime) -> dict[str, Any]:
    """Publish an event to the GP and route it at `moment`; GP's entry in the sender's view."""
    message_id = (await world.publish(recipients=[GP])).json()["message_id"]
    world.rt.clock = _at(moment)
    async with world.rt.db.unit_of_work() as session:
        await route_messages(session, world.rt, [UUID(message_id)])
        await session.commit()
    status = (await world.get(TRUST, f"/v1/events/{message_id}")).json()
    (gp,) = status["recipients"]
    result: dict[str, Any] = gp
    return result


async def test_agreement_stops_sharing_at_its_effective_end(world: World) -> None:
    start = _soon()
    end = start + timedelta(hours=1)
    await world.agree([TRUST, GP], effective_to=end.isoformat())

    before = await _routed_at(world, end - TICK)
    at_end = await _routed_at(world, end)

    assert before["decision"] == "permit"
    assert (at_end["decision"], at_end["reason"]) == ("deny", "agreement_not_in_force")


async def test_agreement_shares_from_its_effective_start(world: World) -> None:
    start = _soon()
    await world.agree([TRUST, GP], effective_from=start.isoformat())

    early = await _routed_at(world, start - TICK)
    on_time = await _routed_at(world, start)

    assert (early["decision"], early["reason"]) == ("deny", "agreement_not_in_force")
    assert on_time["decision"] == "permit"


async def test_suspension_stops_sharing_from_that_moment(world: World) -> None:
    start = _soon()
    agreement = await world.agree([TRUST, GP])
    routed_before = await _routed_at(world, start)
    world.rt.clock = _at(start + timedelta(minutes=1))
    suspended = await world.post(
        TRUST, f"/v1/agreements/{agreement['id']}/suspend", {"reason": "Breach under review"}
    )

    routed_after = await _routed_at(world, start + timedelta(minutes=1))

    assert suspended.status_code == 200, suspended.text
    assert routed_before["decision"] == "permit"
    assert (routed_after["decision"], routed_after["reason"]) == ("deny", "agreement_not_in_force")
    assert "in force" in routed_after["explanation"]


async def test_refusal_applies_only_within_its_validity(world: World) -> None:
    start = _soon()
    await world.agree([TRUST, GP])
    valid_from, valid_to = start + timedelta(hours=1), start + timedelta(hours=2)
    refusal = {
        "state": "refused",
        "scope": {"recipients": [GP]},
        "recorded_by": RECORDER,
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat(),
    }
    assert (await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)).is_success

    decisions = [
        (await _routed_at(world, moment))["decision"]
        for moment in (valid_from - TICK, valid_from, valid_to - TICK, valid_to)
    ]

    assert decisions == ["permit", "deny", "deny", "permit"]


async def test_a_later_consent_in_the_same_scope_supersedes_an_earlier_one(world: World) -> None:
    start = _soon()
    await world.agree([TRUST, GP])
    path = f"/v1/subjects/{NHS_NUMBER}/consents"
    scope = {"recipients": [GP]}
    await world.post(TRUST, path, {"state": "refused", "scope": scope, "recorded_by": RECORDER})
    refused = await _routed_at(world, start)
    world.rt.clock = _at(start + timedelta(minutes=1))
    given = {"state": "given_explicit", "scope": scope, "recorded_by": RECORDER}
    await world.post(TRUST, path, given)

    permitted = await _routed_at(world, start + timedelta(minutes=2))

    assert refused["reason"] == "consent_refused"
    assert permitted["decision"] == "permit"
    assert len(permitted["consent_record_ids"]) == 1
