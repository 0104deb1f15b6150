"""POST /v1/decisions/preview: what the consent gate would decide, for information governance.

A preview consults the person's consent records, so it follows the rule for reading them
(broker.subjects.access): the person's care team and crisis-plan partners, or `admin`."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.decisions.preview import preview_decision
from broker.subjects.access import SubjectRecords, require_standing, standing_of
from schemas.decisions import DecisionPreviewBody
from schemas.vocabulary import Scope

router = APIRouter(tags=["decisions"])
AgreementManager = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.AGREEMENTS_MANAGE))]


@router.post("/v1/decisions/preview")
async def post_decision_preview(
    body: DecisionPreviewBody, caller: AgreementManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The decision and its explanation; nothing is sent and only the preview is audited."""
    pseudonym = rt.pseudonymiser.pseudonym(body.subject.nhs_number)
    admin = caller.has(Scope.ADMIN)
    standing = await standing_of(session, caller.agency, pseudonym, admin=admin)
    require_standing(standing, SubjectRecords.CONSENTS)
    view = await preview_decision(session, rt, caller.actor, body, any_party=admin)
    await session.commit()
    return view
