"""`imb demo`: seed the partnership, run its events through the pipeline, say what to open."""

from dataclasses import dataclass
from itertools import count
from typing import Any
from uuid import UUID

from broker.deliveries.inbox import acknowledge
from broker.demo.cast import Cast, cast_for
from broker.demo.events import Sent, escalated_event, everyday_events, publish
from broker.demo.pipeline import escalated, routed, running_pipeline, short_deadline_policy
from broker.demo.report import Outcome, report
from broker.demo.seed import (
    DEMO,
    Seeded,
    agency_codes,
    seed_agencies,
    seed_agreements,
    seed_care,
    seed_logins,
)
from broker.runtime import Runtime, build_runtime
from broker.serve import check_schema
from broker.settings import Settings
from schemas.acks import Acknowledgement


class DatabaseInUse(RuntimeError):
    pass


@dataclass(frozen=True)
class Routed:
    sent: Sent
    status: dict[str, Any]


async def run_demo(settings: Settings, *, force: bool) -> None:
    rt = build_runtime(settings)
    try:
        await check_schema(rt)
        cast, seeded = await _seed(rt, force=force)
        outcome = await _send_events(rt, cast, seeded)
    finally:
        await rt.close()
    print(report(settings, cast, seeded, outcome), flush=True)


async def _seed(rt: Runtime, *, force: bool) -> tuple[Cast, Seeded]:
    """The whole set-up in one transaction: it is there entirely, or not at all."""
    seeded = Seeded()
    async with rt.db.unit_of_work() as session:
        taken = await agency_codes(session)
        if taken and not force:
            raise DatabaseInUse(
                f"the database already has {len(taken)} agencies; imb demo seeds an empty one "
                "(--force adds a demo partnership beside them)"
            )
        cast = cast_for(next(n for n in count(1) if not taken & _codes(cast_for(n))))
        await seed_agencies(session, rt, cast, seeded)
        await seed_logins(session, rt, cast, seeded)
        await seed_agreements(session, rt, cast, seeded)
        await seed_care(session, rt, cast, seeded)
        await session.commit()
    return cast, seeded


def _codes(cast: Cast) -> set[str]:
    return {agency.code for agency in cast.agencies}


async def _send_events(rt: Runtime, cast: Cast, seeded: Seeded) -> Outcome:
    async with running_pipeline(rt):
        everyday = [
            await _publish_and_route(rt, seeded, e) for e in everyday_events(cast, rt.clock())
        ]
        await _acknowledge_disengagement(rt, cast, seeded, everyday)
        async with short_deadline_policy(rt, DEMO):
            late = await _publish_and_route(rt, seeded, escalated_event(cast, rt.clock()))
        (delivery,) = late.status["recipients"]
        escalation = await escalated(rt, cast.council.code, delivery["delivery_id"])
    return Outcome([(r.sent.event, r.status) for r in [*everyday, late]], escalation.reference)


async def _publish_and_route(rt: Runtime, seeded: Seeded, event: Any) -> Routed:
    sent = await publish(rt, seeded.actor(event.sender), event)
    return Routed(sent, await routed(rt, event.sender.code, sent.message_id))


async def _acknowledge_disengagement(
    rt: Runtime, cast: Cast, seeded: Seeded, everyday: list[Routed]
) -> None:
    """The trust acknowledges the GP's alert that the person missed appointments."""
    (from_gp,) = [r for r in everyday if r.sent.event.sender == cast.gp]
    (to_trust,) = [d for d in from_gp.status["recipients"] if d["agency"] == cast.trust.code]
    ack = Acknowledgement.model_validate(
        {
            "outcome": "actioned",
            "note": "Care coordinator will visit with the GP's practice nurse this week.",
            "acknowledged_by": {"name": cast.trust.lead, "role": cast.trust.care_role},
        }
    )
    async with rt.db.unit_of_work() as session:
        await acknowledge(session, rt, seeded.actor(cast.trust), UUID(to_trust["delivery_id"]), ack)
        await session.commit()
    to_trust["status"] = "acknowledged"
