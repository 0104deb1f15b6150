"""Who is signed in, whether they may use the IG pages or the duty console, and the checked
form they posted."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from broker.api.access_log import remember_person
from broker.api.deps import RuntimeDep, SessionDep
from broker.errors import Forbidden
from broker.users.roles import AUDIT_ROLES, DUTY_ROLES, IG_ROLES
from broker.users.service import SignedIn, signed_in
from broker.web.pages import SignInRequired
from broker.web.security import read_form, session_cookie, tokens_match

FORM_EXPIRED = "The form has expired or did not come from this site. Reload the page and try again."


async def current_person(request: Request, rt: RuntimeDep, session: SessionDep) -> SignedIn:
    token = request.cookies.get(session_cookie(rt.settings.web))
    person = await signed_in(session, rt, token) if token else None
    if person is None:
        raise SignInRequired
    request.state.person = person  # for the error pages' header
    remember_person(request.scope, str(person.user.id), person.user.agency_code)
    return person


PersonDep = Annotated[SignedIn, Depends(current_person)]


async def ig_lead(person: PersonDep) -> SignedIn:
    if person.role not in IG_ROLES:
        raise Forbidden(
            f"The information-governance pages are for IG leads; your role is {person.role}."
        )
    return person


IgLeadDep = Annotated[SignedIn, Depends(ig_lead)]


async def duty_worker(person: PersonDep) -> SignedIn:
    if person.role not in DUTY_ROLES:
        raise Forbidden(f"The duty console is for duty teams; your role is {person.role}.")
    return person


DutyDep = Annotated[SignedIn, Depends(duty_worker)]


async def auditor(person: PersonDep) -> SignedIn:
    if person.role not in AUDIT_ROLES:
        raise Forbidden(f"The audit page is for auditors; your role is {person.role}.")
    return person


AuditorDep = Annotated[SignedIn, Depends(auditor)]


@dataclass(frozen=True)
class PostedForm:
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()


async def checked_form(request: Request, person: PersonDep) -> PostedForm:
    """The posted fields, once the form's token is the session's synchronizer token; a
    missing or wrong one is refused before anything is read or changed."""
    fields = await read_form(request)
    if not tokens_match(person.web_session.csrf_token, fields.get("csrf_token")):
        raise Forbidden(FORM_EXPIRED)
    return PostedForm(fields)


FormDep = Annotated[PostedForm, Depends(checked_form)]
