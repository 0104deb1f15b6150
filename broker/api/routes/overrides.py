"""The override review queue for information governance leads."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.overrides.service import list_overrides, review_override
from schemas.overrides import OverrideReview, OverrideStatus
from schemas.vocabulary import Scope

router = APIRouter(tags=["overrides"])
# Reviewing an override is an information-governance task, like managing agreements.
Reviewer = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.AGREEMENTS_MANAGE))]


@router.get("/v1/overrides")
async def get_overrides(
    caller: Reviewer, rt: RuntimeDep, session: SessionDep, status: OverrideStatus | None = None
) -> dict[str, Any]:
    """Overrides where the caller's agency sent or received the event, oldest first."""
    items = await list_overrides(session, rt, agency=caller.visible_agency, status=status)
    return {"items": items}


@router.post("/v1/overrides/{override_id}/review")
async def post_override_review(
    override_id: UUID,
    review: OverrideReview,
    caller: Reviewer,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Close an open override as upheld or not upheld; a second review is a 409."""
    view = await review_override(
        session, rt, caller.actor, override_id, review, any_agency=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view
