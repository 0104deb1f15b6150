"""RegisterAgency, RegisterClient and client authentication."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.auth.secrets import (
    DUMMY_SECRET_HASH,
    generate_client_id,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from broker.db.models import Agency, Client
from broker.errors import Conflict, FieldError, InvalidInput
from broker.runtime import Runtime
from schemas.admin import AgencyRegistration, ClientRegistration


@dataclass(frozen=True)
class IssuedCredentials:
    client_id: str
    client_secret: str


async def register_agency(
    session: AsyncSession, rt: Runtime, actor: Actor, body: AgencyRegistration
) -> Agency:
    if await session.get(Agency, body.code) is not None:
        raise Conflict(f"agency {body.code} is already registered")
    now = rt.clock()
    agency = Agency(code=body.code, name=body.name, kind=body.kind.value, created_at=now)
    session.add(agency)
    append(session, AuditEvent.AGENCY_REGISTERED, actor, now, detail=body.model_dump(mode="json"))
    return agency


async def register_client(
    session: AsyncSession, rt: Runtime, actor: Actor, body: ClientRegistration
) -> IssuedCredentials:
    """New credentials; the secret is returned once and only its hash is kept."""
    if await session.get(Agency, body.agency) is None:
        raise InvalidInput(
            "no such agency", [FieldError(("body", "agency"), f"unknown agency {body.agency}")]
        )
    now = rt.clock()
    credentials = IssuedCredentials(generate_client_id(), generate_client_secret())
    scopes = " ".join(sorted({scope.value for scope in body.scopes}))
    session.add(
        Client(
            client_id=credentials.client_id,
            agency_code=body.agency,
            secret_hash=hash_client_secret(credentials.client_secret),
            scopes=scopes,
            created_at=now,
        )
    )
    detail = {"client_id": credentials.client_id, "agency": body.agency, "scopes": scopes}
    append(session, AuditEvent.CLIENT_REGISTERED, actor, now, detail=detail)
    return credentials


async def authenticate_client(session: AsyncSession, client_id: str, secret: str) -> Client | None:
    """The client whose secret this is, comparing in constant time even for unknown ids."""
    client = await session.get(Client, client_id) if len(client_id) <= 64 else None
    stored = client.secret_hash if client is not None else DUMMY_SECRET_HASH
    matches = verify_client_secret(secret, stored)
    if client is None or client.revoked_at is not None or not matches:
        return None
    return client
