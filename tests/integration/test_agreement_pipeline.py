"""The agreement lifecycle as routing sees it, through the real pipeline: what is in force at
the moment an event is routed decides, whatever was true before or after."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker.runtime import Runtime
from tests.world import GP, TRUST, World, agreement_body, eventually

pytestmark = pytest.mark.usefixtures("pipeline")


async def _routed_to_gp(world: World, **event: Any) -> dict[str, Any]:
    """Publish to the GP and wait for the routing decision; the GP's entry in the status."""
    accepted = await world.publish(recipients=[GP], **event)
    assert accepted.status_code == 202, accepted.text
    path = f"/v1/events/{accepted.json()['message_id']}"

    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await world.get(TRUST, path)).json()
        return body

    settled = await eventually(
        status, lambda s: s["recipients"] and s["recipients"][0]["status"] != "pending"
    )
    gp: dict[str, Any] = settled["recipients"][0]
    return gp


async def test_event_routed_after_suspension_is_withheld(world: World) -> None:
    agreement = await world.agree([TRUST, GP])
    before = await _routed_to_gp(world)
    suspend = f"/v1/agreements/{agreement['id']}/suspend"
    assert (await world.post(GP, suspend, {"reason": "Breach under review"})).status_code == 200

    after = await _routed_to_gp(world)

    assert (before["status"], before["decision"]) == ("delivered", "permit")
    assert (after["status"], after["reason"]) == ("withheld", "agreement_not_in_force")


async def test_new_version_applies_only_once_every_party_has_approved(world: World) -> None:
    agreement = await world.agree([TRUST, GP])
    path = f"/v1/agreements/{agreement['id']}"
    crisis_only = agreement_body([TRUST, GP], event_types=["crisis.occurred"])
    assert (await world.put(TRUST, path, crisis_only)).status_code == 200
    await world.approve(agreement["id"], [TRUST])

    half_approved = await _routed_to_gp(world)
    await world.approve(agreement["id"], [GP])
    fully_approved = await _routed_to_gp(world)

    assert (half_approved["decision"], half_approved["agreement_version"]) == ("permit", 1)
    assert (fully_approved["status"], fully_approved["reason"]) == (
        "withheld",
        "event_type_not_covered",
    )


async def test_agreement_whose_effective_to_has_passed_stops_sharing(
    world: World, runtime: Runtime
) -> None:
    end = datetime.now(UTC) + timedelta(days=1)
    await world.agree([TRUST, GP], effective_to=end.isoformat())
    while_in_force = await _routed_to_gp(world)

    runtime.clock = lambda: end + timedelta(seconds=1)
    after_the_end = await _routed_to_gp(world)
    view = (await world.get(GP, "/v1/agreements", party=TRUST)).json()["items"]

    assert while_in_force["decision"] == "permit"
    assert (after_the_end["status"], after_the_end["reason"]) == (
        "withheld",
        "agreement_not_in_force",
    )
    assert [a["status"] for a in view] == ["expired"]
