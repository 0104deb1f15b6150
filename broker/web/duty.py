"""/duty: the duty console. A duty team's open escalations and unacknowledged urgent and
emergency deliveries, most urgent first, acknowledged from the page.

The list refreshes itself by polling /duty/items (see duty_js.py); without the script the page
still works, one form post per item and a refresh link.
"""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from broker.api.deps import RuntimeDep, SessionDep
from broker.deliveries.inbox import acknowledge
from broker.errors import BrokerError, InvalidInput, NotFound
from broker.escalations.service import acknowledge_escalation
from broker.runtime import Runtime
from broker.users.service import SignedIn
from broker.web import duty_queue
from broker.web.deps import DutyDep, FormDep, PostedForm
from broker.web.forms import invalid_input
from broker.web.pages import NOT_FOUND_MESSAGE, WebRoute
from broker.web.templates import render
from schemas.acks import Acknowledgement
from schemas.escalations import EscalationAck

router = APIRouter(route_class=WebRoute, include_in_schema=False)
TITLE = "Duty console"


@router.get("/duty")
async def duty_page(
    person: DutyDep,
    rt: RuntimeDep,
    session: SessionDep,
    escalation: UUID | None = None,
    delivery: UUID | None = None,
) -> Response:
    agency = person.user.agency_code
    flash = await _escalation_flash(session, agency, escalation) if escalation else None
    flash = flash or (await _delivery_flash(session, agency, delivery) if delivery else None)
    return await _page(session, rt, person, flash=flash)


@router.get("/duty/items")
async def duty_items(person: DutyDep, rt: RuntimeDep, session: SessionDep) -> Response:
    """The list alone, for the page's script to merge in; no-store like every page."""
    return render("duty_items.html", **await _list_context(session, rt, person))


@router.post("/duty/escalations/{escalation_id}/ack")
async def acknowledge_escalation_form(
    escalation_id: UUID, person: DutyDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    async def act() -> None:
        ack = EscalationAck.model_validate(
            {
                "outcome": form.get("outcome"),
                "note": form.get("note") or None,
                "acknowledged_by": _acknowledger(form),
            }
        )
        await acknowledge_escalation(session, rt, person.actor, escalation_id, ack)

    return await _acknowledged(
        session,
        rt,
        person,
        act,
        (f"escalation-{escalation_id}", f"/duty?escalation={escalation_id}"),
    )


@router.post("/duty/deliveries/{delivery_id}/ack")
async def acknowledge_delivery_form(
    delivery_id: UUID, person: DutyDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    async def act() -> None:
        ack = Acknowledgement.model_validate(
            {
                "outcome": form.get("outcome"),
                "reason_code": form.get("reason_code") or None,
                "note": form.get("note") or None,
                "acknowledged_by": _acknowledger(form),
            }
        )
        await acknowledge(session, rt, person.actor, delivery_id, ack)

    return await _acknowledged(
        session, rt, person, act, (f"delivery-{delivery_id}", f"/duty?delivery={delivery_id}")
    )


def _acknowledger(form: PostedForm) -> dict[str, str]:
    return {"name": form.get("name"), "role": form.get("role")}


async def _acknowledged(
    session: AsyncSession,
    rt: Runtime,
    person: SignedIn,
    act: Callable[[], Awaitable[None]],
    item_and_then: tuple[str, str],
) -> Response:
    """Run one acknowledgement from a form: committed and back to the console with its flash
    (`then`), or the console again saying why it was refused, with that item's form open."""
    item, then = item_and_then
    try:
        await act()
    except ValidationError as exc:
        return await _refused(session, rt, person, invalid_input(NOT_ACKNOWLEDGED, exc), item)
    except BrokerError as exc:
        return await _refused(session, rt, person, exc, item)
    await session.commit()
    return RedirectResponse(then, status_code=303)


NOT_ACKNOWLEDGED = "Not acknowledged"


async def _refused(
    session: AsyncSession, rt: Runtime, person: SignedIn, exc: BrokerError, item: str
) -> Response:
    """The console again, saying why, so the worker stays on their queue: a colleague may
    have closed the item a moment earlier (409), or a field was missing (422). Nothing is
    committed: the unit of work rolls back whatever the refused use case began."""
    return await _page(session, rt, person, error=_reason(exc), status=exc.status, opened=item)


def _reason(exc: BrokerError) -> str:
    if isinstance(exc, NotFound):
        return NOT_FOUND_MESSAGE
    if isinstance(exc, InvalidInput) and exc.errors:
        fields = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in exc.errors)
        return f"{exc.detail}: {fields}"
    return exc.detail[:1].upper() + exc.detail[1:] + "."


async def _page(
    session: AsyncSession,
    rt: Runtime,
    person: SignedIn,
    *,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
    opened: str | None = None,
) -> Response:
    context = await _list_context(session, rt, person) | {"opened": opened}
    return render("duty.html", status=status, title=TITLE, flash=flash, error=error, **context)


async def _list_context(session: AsyncSession, rt: Runtime, person: SignedIn) -> dict[str, Any]:
    now = rt.clock()
    queue = await duty_queue.duty_queue(session, person.user.agency_code, now)
    return {
        "person": person,
        "queue": queue,
        "now": now,
        "time_left": lambda deadline: duty_queue.time_left(deadline, now),
        "zone": rt.settings.web.time_zone,
        "opened": None,
    }


async def _escalation_flash(session: AsyncSession, agency: str, escalation_id: UUID) -> str | None:
    closed = await duty_queue.acknowledged_escalation(session, agency, escalation_id)
    if closed is None or closed.outcome is None:
        return None
    return f"{closed.reference} acknowledged: {_words(closed.outcome)}"


async def _delivery_flash(session: AsyncSession, agency: str, delivery_id: UUID) -> str | None:
    found = await duty_queue.acknowledged_delivery(session, agency, delivery_id)
    if found is None:
        return None
    delivery, message = found
    outcome = _words(delivery.ack_outcome or "")
    if delivery.ack_reason_code:
        outcome += f" ({_words(delivery.ack_reason_code)})"
    return f"{message.type} from {message.sender_agency} acknowledged: {outcome}"


def _words(code: str) -> str:
    return code.replace("_", " ")
