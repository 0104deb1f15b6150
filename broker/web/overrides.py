"""/ig/overrides: the open overrides an IG lead's agency sent or received, and their review."""

from uuid import UUID

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from broker.api.deps import RuntimeDep, SessionDep
from broker.errors import FieldError, InvalidInput
from broker.overrides.service import list_overrides, review_override
from broker.web.deps import FormDep, IgLeadDep
from broker.web.forms import invalid_input
from broker.web.pages import WebRoute
from broker.web.templates import render
from schemas.common import Person
from schemas.overrides import OverrideReview, OverrideStatus, ReviewOutcome

router = APIRouter(route_class=WebRoute, include_in_schema=False)
REVIEWED = "The review has been recorded and the override closed."
REVIEWER_ROLE = "IG lead"
NOT_RECORDED = "The review was not recorded"
# The form preselects nothing, so that an outcome is always someone's choice.
CHOOSE_OUTCOME = "choose upheld or not upheld"
OUTCOMES = {outcome.value for outcome in ReviewOutcome}


@router.get("/ig/overrides")
async def overrides_page(
    person: IgLeadDep, rt: RuntimeDep, session: SessionDep, done: str | None = None
) -> Response:
    found = await list_overrides(
        session, rt, agency=person.user.agency_code, status=OverrideStatus.OPEN
    )
    return render(
        "overrides.html",
        title="Overrides awaiting review",
        person=person,
        overrides=found,
        flash=REVIEWED if done == "reviewed" else None,
    )


@router.post("/ig/overrides/{override_id}/review")
async def review(
    override_id: UUID, person: IgLeadDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    if form.get("outcome") not in OUTCOMES:
        raise InvalidInput(NOT_RECORDED, [FieldError(("form", "outcome"), CHOOSE_OUTCOME)])
    try:
        body = OverrideReview.model_validate(
            {
                "outcome": form.get("outcome"),
                "note": form.get("note"),
                "reviewed_by": Person(name=form.get("reviewer_name"), role=REVIEWER_ROLE),
            }
        )
    except ValidationError as exc:
        raise invalid_input(NOT_RECORDED, exc) from exc
    await review_override(session, rt, person.actor, override_id, body)
    await session.commit()
    return RedirectResponse("/ig/overrides?done=reviewed", status_code=303)
