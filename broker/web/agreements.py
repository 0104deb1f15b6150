"""/ig/agreements: the agreements an IG lead's agency is party to, and approving one."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from broker.agreements.service import approve_agreement, get_agreement, list_agreements
from broker.api.deps import RuntimeDep, SessionDep
from broker.runtime import Runtime
from broker.users.service import SignedIn
from broker.web.deps import FormDep, IgLeadDep
from broker.web.display import for_page
from broker.web.forms import invalid_input
from broker.web.pages import WebRoute
from broker.web.templates import render
from schemas.agreements import AgreementApproval
from schemas.common import Person

router = APIRouter(route_class=WebRoute, include_in_schema=False)
APPROVED = "Your agency's approval has been recorded."


@router.get("/ig/agreements")
async def agreements_page(person: IgLeadDep, rt: RuntimeDep, session: SessionDep) -> Response:
    found = await list_agreements(session, rt, party=person.user.agency_code, status=None)
    today = rt.clock().date()
    return render(
        "agreements.html",
        title="Sharing agreements",
        person=person,
        agreements=[for_page(agreement, today) for agreement in found],
    )


@router.get("/ig/agreements/{agreement_id}")
async def agreement_page(
    agreement_id: UUID,
    person: IgLeadDep,
    rt: RuntimeDep,
    session: SessionDep,
    done: str | None = None,
) -> Response:
    agreement = await get_agreement(session, rt, agreement_id, person.user.agency_code)
    return _detail(rt, person, agreement, flash=APPROVED if done == "approved" else None)


@router.post("/ig/agreements/{agreement_id}/approve")
async def approve(
    agreement_id: UUID, person: IgLeadDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    try:
        approval = AgreementApproval(
            approved_by=Person(name=form.get("approver_name"), role=form.get("approver_role")),
            note=form.get("note") or None,
        )
    except ValidationError as exc:
        raise invalid_input("The approval was not recorded", exc) from exc
    await approve_agreement(session, rt, person.actor, agreement_id, approval)
    await session.commit()
    return RedirectResponse(f"/ig/agreements/{agreement_id}?done=approved", status_code=303)


def _detail(
    rt: Runtime, person: SignedIn, agreement: dict[str, Any], *, flash: str | None
) -> Response:
    shown = for_page(agreement, rt.clock().date())
    return render(
        "agreement.html",
        title=shown["title"],
        person=person,
        a=shown,
        can_approve=person.user.agency_code in shown["pending"],
        flash=flash,
    )
