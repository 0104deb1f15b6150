"""Each agency's rate limits: set by an administrator, read by the agency itself too."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from broker.api.deps import Caller, RuntimeDep, SessionDep, authenticate, require
from broker.errors import NotFound
from broker.ratelimits.agencies import agency_limits_view, set_agency_limits
from schemas.admin import RateLimitsBody, RateLimitsView
from schemas.common import AgencyCode
from schemas.vocabulary import Scope

router = APIRouter(tags=["admin"])
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]
AnyClient = Annotated[Caller, Depends(authenticate)]
AgencyPath = Annotated[AgencyCode, Path(description="the agency's ODS-style code")]
LIMITS = "/v1/agencies/{code}/rate-limits"


@router.put(LIMITS, response_model=RateLimitsView)
async def put_rate_limits(
    code: AgencyPath, body: RateLimitsBody, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> RateLimitsView:
    """Limits on each of the agency's clients: publishing events, and every other call (e.g.
    `1200/minute`); null falls back to the broker's defaults. Every process applies them
    within ten seconds. An unknown agency is a 422."""
    view = await set_agency_limits(session, rt.agency_limits, caller.actor, rt.clock(), code, body)
    await session.commit()
    return view


@router.get(LIMITS, response_model=RateLimitsView)
async def get_rate_limits(
    code: AgencyPath, caller: AnyClient, rt: RuntimeDep, session: SessionDep
) -> RateLimitsView:
    """An administrator sees any agency's; an agency's own clients see only theirs."""
    if caller.visible_agency not in (None, code):
        raise NotFound(f"no rate limits for agency {code}")
    return await agency_limits_view(session, rt.agency_limits, code)
