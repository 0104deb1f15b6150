"""What an active crisis plan changes about routing a crisis. Pure: no I/O.

A `crisis.occurred` about a subject with an active plan goes to every plan partner as well as
to its usual recipients, the lead agency first: the lead coordinates the response, so its
delivery is decided, written and published before the others'. Each partner still gets its
own consent decision; the plan decides who is asked, never who is told.
"""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from broker.crisis_plans.repository import LoadedPlan
from broker.timeframes.assign import Tightening

CRISIS = "crisis.occurred"


@dataclass(frozen=True, slots=True)
class ActivePlan:
    id: UUID
    partners: tuple[str, ...]  # the lead first, then by agency code
    ack_within: dict[str, timedelta]  # per partner: its own time, else the plan's, if any

    def tightenings_for(self, agency: str) -> list[Tightening]:
        """The plan's acknowledgement time for this partner; `assign` keeps it if shorter."""
        ack_within = self.ack_within.get(agency)
        if ack_within is None:
            return []
        return [Tightening(f"crisis_plan:{self.id}", None, ack_within)]


def active_plan(loaded: LoadedPlan) -> ActivePlan:
    plan = loaded.plan
    lead = plan.lead_agency
    others = sorted(p.agency_code for p in loaded.partners if p.agency_code != lead)
    times = {
        p.agency_code: timedelta(seconds=seconds)
        for p in loaded.partners
        if (seconds := p.ack_within_seconds or plan.ack_within_seconds) is not None
    }
    return ActivePlan(plan.id, (lead, *others), times)


def plan_activated(event_type: str, active: ActivePlan | None) -> ActivePlan | None:
    """The plan a message activates: the subject's active plan, for a crisis only.

    A subject has at most one active plan, so a `crisis_plan_id` in the payload can only name
    that plan or one not in force (superseded, unconfirmed, or another person's); the active
    plan is what the partners agreed to act on, so it is used either way.
    """
    return active if event_type == CRISIS else None


def with_plan_partners(recipients: list[str], plan: ActivePlan, sender: str) -> list[str]:
    """The plan's partners (lead first) and then the other recipients, none twice, and never
    the sender."""
    partners = [agency for agency in plan.partners if agency != sender]
    return partners + [agency for agency in recipients if agency not in partners]
