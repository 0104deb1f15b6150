"""Crisis plans and their partners."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import CrisisPlan, CrisisPlanPartner, Subject
from schemas.vocabulary import CrisisPlanStatus


@dataclass(frozen=True)
class LoadedPlan:
    plan: CrisisPlan
    partners: list[CrisisPlanPartner]

    def partner(self, agency: str | None) -> CrisisPlanPartner | None:
        return next((p for p in self.partners if p.agency_code == agency), None)


async def lock_subject(session: AsyncSession, pseudonym: str) -> bool:
    """Serialise changes to one subject's plans, so that at most one of them is active."""
    statement = select(Subject.pseudonym).where(Subject.pseudonym == pseudonym).with_for_update()
    return (await session.scalar(statement)) is not None


async def plan_for_change(session: AsyncSession, plan_id: UUID) -> LoadedPlan | None:
    plan = await session.get(CrisisPlan, plan_id, with_for_update=True)
    if plan is None:
        return None
    return LoadedPlan(plan, (await _partners_of(session, [plan.id]))[plan.id])


async def plans_with_partner(
    session: AsyncSession, pseudonym: str, agency: str, plan_id: UUID | None = None
) -> list[LoadedPlan]:
    """The subject's plans that name `agency` as a partner, newest first."""
    statement = (
        select(CrisisPlan)
        .join(CrisisPlanPartner, CrisisPlanPartner.plan_id == CrisisPlan.id)
        .where(CrisisPlan.subject_pseudonym == pseudonym, CrisisPlanPartner.agency_code == agency)
        .order_by(CrisisPlan.created_at.desc(), CrisisPlan.id)
    )
    if plan_id is not None:
        statement = statement.where(CrisisPlan.id == plan_id)
    plans = list((await session.scalars(statement)).all())
    partners = await _partners_of(session, [p.id for p in plans])
    return [LoadedPlan(p, partners[p.id]) for p in plans]


async def active_plans(session: AsyncSession, pseudonyms: set[str]) -> list[LoadedPlan]:
    """The active plan of each of these subjects that has one, with its partners: one query."""
    statement = (
        select(CrisisPlan, CrisisPlanPartner)
        .join(CrisisPlanPartner, CrisisPlanPartner.plan_id == CrisisPlan.id)
        .where(
            CrisisPlan.subject_pseudonym.in_(pseudonyms),
            CrisisPlan.status == CrisisPlanStatus.ACTIVE.value,
        )
    )
    plans: dict[UUID, CrisisPlan] = {}
    partners: dict[UUID, list[CrisisPlanPartner]] = defaultdict(list)
    for plan, partner in (await session.execute(statement)).all():
        plans[plan.id] = plan
        partners[plan.id].append(partner)
    return [LoadedPlan(plan, partners[plan_id]) for plan_id, plan in plans.items()]


async def active_plan_of(session: AsyncSession, pseudonym: str) -> CrisisPlan | None:
    statement = select(CrisisPlan).where(
        CrisisPlan.subject_pseudonym == pseudonym,
        CrisisPlan.status == CrisisPlanStatus.ACTIVE.value,
    )
    plan: CrisisPlan | None = await session.scalar(statement)
    return plan


async def _partners_of(
    session: AsyncSession, plan_ids: Sequence[UUID]
) -> dict[UUID, list[CrisisPlanPartner]]:
    statement = (
        select(CrisisPlanPartner)
        .where(CrisisPlanPartner.plan_id.in_(plan_ids))
        .order_by(CrisisPlanPartner.agency_code)
    )
    grouped: dict[UUID, list[CrisisPlanPartner]] = defaultdict(list)
    for partner in (await session.scalars(statement)).all():
        grouped[partner.plan_id].append(partner)
    return grouped
