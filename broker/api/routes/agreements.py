"""Sharing agreements."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from broker.agreements.service import create_agreement, get_agreement, list_agreements
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from schemas.agreements import AgreementBody
from schemas.common import AgencyCode
from schemas.vocabulary import Scope

router = APIRouter(tags=["agreements"])
AgreementManager = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.AGREEMENTS_MANAGE))]


@router.post("/v1/agreements", status_code=201)
async def post_agreement(
    body: AgreementBody, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Record a sharing agreement (active at once, version 1)."""
    view = await create_agreement(
        session, rt, caller.actor, body, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view


@router.get("/v1/agreements")
async def get_agreements(
    caller: AgreementManager,
    session: SessionDep,
    party: AgencyCode | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Agreements, newest first; without `admin`, only those the caller's agency is party to."""
    scope = party if caller.has(Scope.ADMIN) else caller.agency
    items = await list_agreements(session, scope)
    if party is not None and not caller.has(Scope.ADMIN):
        items = [i for i in items if any(p["agency"] == party for p in i["parties"])]
    return {"items": [i for i in items if status is None or i["status"] == status]}


@router.get("/v1/agreements/{agreement_id}")
async def get_one_agreement(
    agreement_id: UUID, caller: AgreementManager, session: SessionDep
) -> dict[str, Any]:
    visible_to = None if caller.has(Scope.ADMIN) else caller.agency
    return await get_agreement(session, agreement_id, visible_to)
