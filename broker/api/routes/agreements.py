"""Sharing agreements and their lifecycle: draft → approved by every party → in force →
revised, suspended or terminated (see broker.agreements.service).

Who may do what: `agreements:manage` clients act for their own agency, which must be a party
(an agreement it is party to in no version is a 404); `admin` may act on any agreement, except
approving, which is always a party's own sign-off (`agreements:manage`). A party that can see
the agreement but is not a party to the version concerned gets 403.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from broker.agreements.service import (
    approve_agreement,
    create_agreement,
    due_for_review,
    get_agreement,
    list_agreements,
    reinstate_agreement,
    revise_agreement,
    suspend_agreement,
    terminate_agreement,
)
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from consent.vocab import AgreementStatus
from schemas.agreements import AgreementApproval, AgreementBody, AgreementEnd
from schemas.common import AgencyCode
from schemas.vocabulary import Scope

router = APIRouter(tags=["agreements"])
AgreementManager = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.AGREEMENTS_MANAGE))]
PartySignatory = Annotated[Caller, Depends(require(Scope.AGREEMENTS_MANAGE))]


@router.post("/v1/agreements", status_code=201)
async def post_agreement(
    body: AgreementBody, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Propose a sharing agreement: version 1, a draft until every party approves it."""
    view = await create_agreement(
        session, rt, caller.actor, body, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view


@router.get("/v1/agreements")
async def get_agreements(
    caller: AgreementManager,
    rt: RuntimeDep,
    session: SessionDep,
    party: AgencyCode | None = None,
    status: AgreementStatus | None = None,
) -> dict[str, Any]:
    """Agreements, newest first, each as its newest version; `status` keeps those with a
    version in that status now. Without `admin`, only those the caller's agency is party to."""
    wanted = status.value if status is not None else None
    visible = caller.visible_agency
    items = await list_agreements(session, rt, party=visible or party, status=wanted)
    if visible is not None and party is not None:
        items = [i for i in items if any(_names(v, party) for v in i["versions"])]
    return {"items": items}


def _names(version: dict[str, Any], agency: str) -> bool:
    return any(p["agency"] == agency for p in version["parties"])


@router.get("/v1/agreements/due-for-review")
async def get_due_for_review(
    caller: AgreementManager,
    rt: RuntimeDep,
    session: SessionDep,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> dict[str, Any]:
    """Agreements in force or approved whose review date is within the days, or past."""
    items = await due_for_review(
        session, rt, within_days=within_days, visible_to=caller.visible_agency
    )
    return {"items": items}


@router.get("/v1/agreements/{agreement_id}")
async def get_one_agreement(
    agreement_id: UUID, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The newest version, every version's history, and the parties still to approve."""
    return await get_agreement(session, rt, agreement_id, caller.visible_agency)


@router.put("/v1/agreements/{agreement_id}")
async def put_agreement(
    agreement_id: UUID,
    body: AgreementBody,
    caller: AgreementManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Propose new terms as the next version (a draft; a pending draft is withdrawn)."""
    view = await revise_agreement(
        session, rt, caller.actor, agreement_id, body, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view


@router.post("/v1/agreements/{agreement_id}/approvals")
async def post_approval(
    agreement_id: UUID,
    approval: AgreementApproval,
    caller: PartySignatory,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """The caller's agency approves the version awaiting approval; the last party's approval
    puts it in force (from effective_from, if that is later)."""
    view = await approve_agreement(session, rt, caller.actor, agreement_id, approval)
    await session.commit()
    return view


@router.post("/v1/agreements/{agreement_id}/suspend")
async def post_suspension(
    agreement_id: UUID,
    end: AgreementEnd,
    caller: AgreementManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Stop sharing under the agreement now, until a new version is approved."""
    view = await suspend_agreement(
        session, rt, caller.actor, agreement_id, end, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view


@router.post("/v1/agreements/{agreement_id}/terminate")
async def post_termination(
    agreement_id: UUID,
    end: AgreementEnd,
    caller: AgreementManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """End the agreement for good; it cannot be revised, approved or reinstated after."""
    view = await terminate_agreement(
        session, rt, caller.actor, agreement_id, end, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view


@router.post("/v1/agreements/{agreement_id}/reinstate")
async def post_reinstatement(
    agreement_id: UUID, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Propose a suspended agreement's terms again as a new version for every party to
    approve; the suspension stays on record."""
    view = await reinstate_agreement(
        session, rt, caller.actor, agreement_id, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view
