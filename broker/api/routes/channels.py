"""Each agency's delivery channel: chosen by the agency (`channels:manage`) or an
administrator; who may is decided in `broker.agencies.channels.may_see_channel`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from broker.agencies.channels import channel_of, may_see_channel, rotate_secret, set_channel
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from schemas.channels import ChannelBody, ChannelView
from schemas.common import AgencyCode
from schemas.vocabulary import Scope

router = APIRouter(tags=["delivery channels"])
Manager = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.CHANNELS_MANAGE))]
Reader = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.CHANNELS_MANAGE, Scope.INBOX_READ))]
AgencyPath = Annotated[AgencyCode, Path(description="the agency's ODS-style code")]
CHANNEL = "/v1/agencies/{code}/channel"


@router.put(CHANNEL, response_model=ChannelView)
async def put_channel(
    code: AgencyPath, body: ChannelBody, caller: Manager, rt: RuntimeDep, session: SessionDep
) -> ChannelView:
    """How the agency's deliveries are pushed, beside its inbox: `inbox` (pull only),
    `webhook` (signed POSTs to `url`; the answer that first sets it carries the signing
    `secret`, shown once) or `kafka` (records on the agency's own topic, sealed to its
    `public_key`: not yet produced in this version). A webhook or kafka channel's `format` says
    what each push carries: `imb` (the default) or a delivery format the broker has, such as
    `fhir`. Audited. An unknown agency or format is a 422."""
    may_see_channel(caller.visible_agency, code)
    view = await set_channel(session, rt, caller.actor, code, body)
    await session.commit()
    return view


@router.get(CHANNEL, response_model=ChannelView)
async def get_channel(
    code: AgencyPath, caller: Reader, rt: RuntimeDep, session: SessionDep
) -> ChannelView:
    """The agency's channel, never its secret: an administrator sees any agency's, an agency's
    own clients only theirs."""
    may_see_channel(caller.visible_agency, code)
    return await channel_of(session, rt, code)


@router.post(f"{CHANNEL}/rotate-secret", response_model=ChannelView)
async def post_rotate_secret(
    code: AgencyPath, caller: Manager, rt: RuntimeDep, session: SessionDep
) -> ChannelView:
    """A new webhook signing secret, shown in this answer only; for 24 hours each webhook is
    signed with the old secret too, so the receiver can switch at its own pace. Audited."""
    may_see_channel(caller.visible_agency, code)
    view = await rotate_secret(session, rt, caller.actor, code)
    await session.commit()
    return view
