"""Who may touch a person's records: the one rule, used by every route about a subject.

An agency's standing with a person is what it is to them now: a member of their care team (and
perhaps its coordinator), a partner of their active crisis plan, or nothing. From that alone:

- **Care team.** Any agency may create a person's first care team, provided it is a member of
  it; only the current coordinator's agency may replace it. Another member is told it is not
  the coordinator (403); an agency outside the team gets the 404 of a person it cannot see.
- **Consent records.** Read and written only by the agencies in the person's current care team
  or partners of their active crisis plan.
- **Crisis plans.** Proposed by the care team or the active plan's partners; for a person with
  neither, by any agency that is a partner of the plan it proposes. Each plan is then read and
  confirmed only by its own partners (broker.crisis_plans).
- **Everyone else** gets the same 404 whether or not IMB knows the person, and nothing is
  written, not even the person's first sight.
- `admin` clients stand in every relation (they are the partnership's operators).

`docs/security.md` states the rule for assessors; routes call `require_standing` and the use
cases never decide access themselves.
"""

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.crisis_plans.repository import active_plans
from broker.db.models import CareTeamMember
from broker.errors import Forbidden, NotFound

# One text for every refusal to an outsider: it must not tell a known person from an unknown.
NO_SUCH_SUBJECT = "no records about this person that your agency may see"


class SubjectRecords(StrEnum):
    """The kinds of a person's records that the rule governs."""

    CONSENTS = "consents"
    CARE_TEAM = "care team"
    CRISIS_PLAN = "crisis plan"


@dataclass(frozen=True)
class Standing:
    """What one agency is to one person, now."""

    agency: str
    admin: bool
    team: frozenset[str]
    coordinator: str | None
    crisis_partners: frozenset[str]

    @property
    def related(self) -> bool:
        return self.admin or self.agency in self.team or self.agency in self.crisis_partners

    def may_keep_consents(self) -> bool:
        return self.related

    def may_set_care_team(self, members: Collection[str]) -> bool:
        if self.admin:
            return True
        if not self.team:
            return self.agency in members
        return self.agency == self.coordinator

    def may_propose_crisis_plan(self) -> bool:
        # For a person nobody works with yet, the plan itself is the relationship: the proposer
        # must be one of its partners, which the plan's own checks insist on.
        return self.related or (not self.team and not self.crisis_partners)


async def standing_of(
    session: AsyncSession, agency: str, pseudonym: str, *, admin: bool
) -> Standing:
    members = (
        await session.execute(
            select(CareTeamMember.agency_code, CareTeamMember.coordinator).where(
                CareTeamMember.subject_pseudonym == pseudonym
            )
        )
    ).all()
    plans = await active_plans(session, {pseudonym})
    return Standing(
        agency=agency,
        admin=admin,
        team=frozenset(code for code, _ in members),
        coordinator=next((code for code, lead in members if lead), None),
        crisis_partners=frozenset(p.agency_code for plan in plans for p in plan.partners),
    )


def require_standing(
    standing: Standing, records: SubjectRecords, members: Collection[str] = ()
) -> None:
    """Raise unless the agency may read and write these records of the person; `members` is
    the care team proposed, for a care-team change."""
    if records is SubjectRecords.CONSENTS and standing.may_keep_consents():
        return
    if records is SubjectRecords.CRISIS_PLAN and standing.may_propose_crisis_plan():
        return
    if records is SubjectRecords.CARE_TEAM:
        if standing.may_set_care_team(members):
            return
        if standing.agency in standing.team:
            raise Forbidden("only the care-team coordinator's agency may replace the care team")
        if not standing.team:
            # Nobody stands in the way, so saying why reveals nothing about the person.
            raise Forbidden("an agency may only create a care team it is a member of")
    raise NotFound(NO_SUCH_SUBJECT)
