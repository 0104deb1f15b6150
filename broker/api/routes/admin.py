"""Registering agencies and their machine clients (`admin`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from broker.agencies.service import register_agency, register_client
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.db.models import Agency
from schemas.admin import AgencyRegistration, ClientRegistration
from schemas.vocabulary import Scope

router = APIRouter(tags=["admin"])
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]


@router.post("/v1/agencies", status_code=201)
async def post_agency(
    body: AgencyRegistration, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    agency = await register_agency(session, rt, caller.actor, body)
    await session.commit()
    return {"code": agency.code, "name": agency.name, "kind": agency.kind}


@router.get("/v1/agencies")
async def get_agencies(caller: Admin, session: SessionDep) -> dict[str, Any]:
    agencies = await session.scalars(select(Agency).order_by(Agency.code))
    return {"items": [{"code": a.code, "name": a.name, "kind": a.kind} for a in agencies]}


@router.post("/v1/clients", status_code=201)
async def post_client(
    body: ClientRegistration, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, str]:
    """New client credentials; the secret is in this response only."""
    issued = await register_client(session, rt, caller.actor, body)
    await session.commit()
    return {"client_id": issued.client_id, "client_secret": issued.client_secret}
