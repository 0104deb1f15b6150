"""Decision preview: what the consent gate would decide, for information governance."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.decisions.preview import preview_decision
from schemas.decisions import DecisionPreviewBody
from schemas.vocabulary import Scope

router = APIRouter(tags=["decisions"])
AgreementManager = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.AGREEMENTS_MANAGE))]


@router.post("/v1/decisions/preview")
async def post_decision_preview(
    body: DecisionPreviewBody, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The decision and its explanation; nothing is sent and only the preview is audited."""
    view = await preview_decision(
        session, rt, caller.actor, body, any_party=caller.has(Scope.ADMIN)
    )
    await session.commit()
    return view
