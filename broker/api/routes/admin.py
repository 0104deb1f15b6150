"""Registering agencies and their machine clients, listing, revoking and re-keying clients
(`admin`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from broker.agencies.clients import (
    client_named,
    clients_of,
    register_client,
    revoke_client,
    rotate_client_secret,
)
from broker.agencies.service import register_agency, registered_agencies
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from schemas.admin import AgencyRegistration, ClientPage, ClientRegistration, ClientView
from schemas.common import AgencyCode
from schemas.vocabulary import Scope

router = APIRouter(tags=["admin"])
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]
ClientIdPath = Annotated[str, Path(min_length=1, max_length=64, description="the client's id")]


@router.post("/v1/agencies", status_code=201)
async def post_agency(
    body: AgencyRegistration, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    agency = await register_agency(session, rt, caller.actor, body)
    await session.commit()
    return {"code": agency.code, "name": agency.name, "kind": agency.kind}


@router.get("/v1/agencies")
async def get_agencies(caller: Admin, session: SessionDep) -> dict[str, Any]:
    agencies = await registered_agencies(session)
    return {"items": [{"code": a.code, "name": a.name, "kind": a.kind} for a in agencies]}


@router.post("/v1/clients", status_code=201)
async def post_client(
    body: ClientRegistration, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, str | None]:
    """New client credentials. A `client_secret` client's secret is in this response only; a
    `private_key_jwt` or `tls_client_auth` client has none."""
    issued = await register_client(session, rt, caller.actor, body)
    await session.commit()
    return {"client_id": issued.client_id, "client_secret": issued.client_secret}


@router.get("/v1/clients", response_model=ClientPage)
async def get_clients(
    caller: Admin, session: SessionDep, agency: Annotated[AgencyCode | None, Query()] = None
) -> ClientPage:
    """Every client (or one agency's), revoked ones too; never a secret or a key."""
    return ClientPage(items=await clients_of(session, agency))


@router.get("/v1/clients/{client_id}", response_model=ClientView)
async def get_client(client_id: ClientIdPath, caller: Admin, session: SessionDep) -> ClientView:
    return await client_named(session, client_id)


@router.post("/v1/clients/{client_id}/revoke", response_model=ClientView)
async def post_revocation(
    client_id: ClientIdPath, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> ClientView:
    """Revoke the client: no new token, and every token it holds refused within a second on
    every process. A second revocation is a 409."""
    view = await revoke_client(session, rt, caller.actor, client_id)
    await session.commit()
    return view


@router.post("/v1/clients/{client_id}/rotate-secret")
async def post_secret_rotation(
    client_id: ClientIdPath, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, str | None]:
    """A new secret, in this response only; the old secret and every token issued for it stop
    working at once."""
    issued = await rotate_client_secret(session, rt, caller.actor, client_id)
    await session.commit()
    return {"client_id": issued.client_id, "client_secret": issued.client_secret}
