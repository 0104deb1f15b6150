"""Who may touch a person's records: the one rule, used by every route about a subject.

An agency's standing with a person is what it is to them now: a member of their care team (and
perhaps its coordinator), a partner of their active crisis plan, or nothing. From that alone:

- **Care team.** The agency setting a team must be a member of it (422 otherwise, whatever the
  person's state, so that the answer tells nothing). A person nobody works with yet (no team,
  no active crisis plan, no consent records) gets a first team from any agency; only the
  current coordinator's agency replaces a team, and the active plan's partners create the
  team of a person who has only a plan. Another member is told it is not the coordinator
  (403); anyone else gets the 404 of a person it cannot see.
- **Consent records.** Read and written only by the agencies in the person's current care team
  or partners of their active crisis plan.
- **Crisis plans.** The proposer must be a partner of the plan (422). Proposed by the care team
  or the active plan's partners; for a person nobody works with yet, by any agency. Each plan
  is then read and confirmed only by its own partners (broker.crisis_plans), and a plan
  proposed for a person nobody worked with is confirmed only while that is still so, or its
  proposer has come to stand with them since.
- **Decisions about the person** show their consent detail only to the agencies that keep the
  consent records (`persons_known_to`, broker.decisions.disclosure).
- **Everyone else** gets the same 404 whether or not IMB knows the person, and nothing is
  written, not even the person's first sight.
- `admin` clients stand in every relation to a person's care team and consent records (they
  are the partnership's operators); a crisis plan is its partners' own, so not in its plans.

`docs/security.md` states the rule for assessors; routes call `require_standing` and the use
cases never decide access themselves.
"""

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.crisis_plans.repository import active_plans
from broker.db.models import CareTeamMember, ConsentRecord, CrisisPlan, CrisisPlanPartner
from broker.errors import FieldError, Forbidden, InvalidInput, NotFound
from schemas.vocabulary import CrisisPlanStatus

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
    has_consent_records: bool = False

    @property
    def related(self) -> bool:
        return self.admin or self.agency in self.team or self.agency in self.crisis_partners

    @property
    def unattended(self) -> bool:
        """Nobody works with the person yet: any agency may start their record."""
        return not self.team and not self.crisis_partners and not self.has_consent_records

    def may_keep_consents(self) -> bool:
        return self.related

    def may_set_care_team(self) -> bool:
        if self.admin or self.unattended:
            return True
        if self.team:
            return self.agency == self.coordinator
        return self.agency in self.crisis_partners

    def may_propose_crisis_plan(self) -> bool:
        return self.related or self.unattended


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
    consented = await session.scalar(
        select(ConsentRecord.id).where(ConsentRecord.subject_pseudonym == pseudonym).limit(1)
    )
    return Standing(
        agency=agency,
        admin=admin,
        team=frozenset(code for code, _ in members),
        coordinator=next((code for code, lead in members if lead), None),
        crisis_partners=frozenset(p.agency_code for plan in plans for p in plan.partners),
        has_consent_records=consented is not None,
    )


def require_standing(
    standing: Standing, records: SubjectRecords, members: Collection[str] = ()
) -> None:
    """Raise unless the agency may read and write these records of the person; `members` is
    the care team, or the plan's partners, proposed."""
    if records is not SubjectRecords.CONSENTS and not standing.admin:
        _require_membership(standing.agency, records, members)
    if records is SubjectRecords.CONSENTS and standing.may_keep_consents():
        return
    if records is SubjectRecords.CRISIS_PLAN and standing.may_propose_crisis_plan():
        return
    if records is SubjectRecords.CARE_TEAM:
        if standing.may_set_care_team():
            return
        if standing.agency in standing.team:
            raise Forbidden("only the care-team coordinator's agency may replace the care team")
    raise NotFound(NO_SUCH_SUBJECT)


def _require_membership(agency: str, records: SubjectRecords, members: Collection[str]) -> None:
    # Checked before anything about the person, so that the answer says nothing of them.
    if agency in members:
        return
    if records is SubjectRecords.CARE_TEAM:
        where, why = "members", f"{agency} sets the care team, so it must be one of its members"
    else:
        where, why = "partners", f"{agency} proposes the plan, so it must be one of its partners"
    raise InvalidInput(
        f"the {records} names agencies it cannot", [FieldError(("body", where), why)]
    )


async def persons_known_to(
    session: AsyncSession, agency: str | None, pseudonyms: Collection[str]
) -> set[str]:
    """Of these people, those whose consent records the agency keeps (its care teams and
    active crisis plans); every one of them for `None`, an administrator or regulator."""
    wanted = set(pseudonyms)
    if agency is None or not wanted:
        return wanted
    teams = select(CareTeamMember.subject_pseudonym).where(
        CareTeamMember.agency_code == agency, CareTeamMember.subject_pseudonym.in_(wanted)
    )
    plans = (
        select(CrisisPlan.subject_pseudonym)
        .join(CrisisPlanPartner, CrisisPlanPartner.plan_id == CrisisPlan.id)
        .where(
            CrisisPlanPartner.agency_code == agency,
            CrisisPlan.status == CrisisPlanStatus.ACTIVE.value,
            CrisisPlan.subject_pseudonym.in_(wanted),
        )
    )
    known = set((await session.scalars(teams)).all())
    return known | set((await session.scalars(plans)).all())
