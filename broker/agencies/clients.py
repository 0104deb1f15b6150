"""RegisterClient, RevokeClient, RotateClientSecret and the clients an administrator lists.

A client's secret is returned once and only its hash is kept; a key-based or certificate-based
client has no secret at all. Revoking a client or replacing its secret takes effect for every
token already issued within a second (broker.auth.revocation) and is audited.
"""

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.auth.keys import public_key_set_problems, trusted_jwks_url
from broker.auth.secrets import generate_client_id, generate_client_secret, hash_client_secret
from broker.db.models import Agency, Client
from broker.errors import Conflict, FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from schemas.admin import ClientAuthMethod, ClientRegistration, ClientView

NO_SUCH_CLIENT = "no such client"


@dataclass(frozen=True)
class IssuedCredentials:
    client_id: str
    client_secret: str | None  # None for a client that proves itself with a key or certificate


async def register_client(
    session: AsyncSession, rt: Runtime, actor: Actor, body: ClientRegistration
) -> IssuedCredentials:
    """New credentials; a secret is returned once and only its hash is kept."""
    await _check_registration(session, body)
    now = rt.clock()
    secret = (
        generate_client_secret() if body.auth_method is ClientAuthMethod.CLIENT_SECRET else None
    )
    client = Client(
        client_id=generate_client_id(),
        agency_code=body.agency,
        secret_hash=hash_client_secret(secret) if secret else None,
        scopes=" ".join(sorted({scope.value for scope in body.scopes})),
        created_at=now,
        credentials_version=1,
        auth_method=body.auth_method.value,
        jwks=body.jwks.model_dump() if body.jwks else None,
        jwks_url=str(body.jwks_uri) if body.jwks_uri else None,
        tls_subject_dn=body.tls_client_auth_subject_dn,
    )
    session.add(client)
    append(session, AuditEvent.CLIENT_REGISTERED, actor, now, detail=_audit_detail(client))
    return IssuedCredentials(client.client_id, secret)


async def _check_registration(session: AsyncSession, body: ClientRegistration) -> None:
    errors: list[FieldError] = []
    if await session.get(Agency, body.agency) is None:
        errors.append(FieldError(("body", "agency"), f"unknown agency {body.agency}"))
    if body.jwks is not None:
        errors += [
            FieldError(("body", "jwks", "keys", index), problem)
            for index, problem in public_key_set_problems(body.jwks.model_dump())
        ]
    if body.jwks_uri is not None and not trusted_jwks_url(str(body.jwks_uri)):
        errors.append(
            FieldError(("body", "jwks_uri"), "must be https (http only for a loopback address)")
        )
    subject = body.tls_client_auth_subject_dn
    if subject is not None and not _distinguished_name(subject):
        errors.append(
            FieldError(
                ("body", "tls_client_auth_subject_dn"),
                "not an RFC 4514 distinguished name, e.g. CN=epr.example.nhs.uk,O=Trust",
            )
        )
    if errors:
        raise InvalidInput("the client cannot be registered", errors)


def _distinguished_name(text: str) -> bool:
    try:
        return len(x509.Name.from_rfc4514_string(text)) > 0
    except ValueError:
        return False


async def revoke_client(
    session: AsyncSession, rt: Runtime, actor: Actor, client_id: str
) -> ClientView:
    client = await _live_client(session, client_id)
    client.revoked_at = rt.clock()
    append(
        session, AuditEvent.CLIENT_REVOKED, actor, client.revoked_at, detail=_audit_detail(client)
    )
    rt.client_status.forget(client_id)
    return client_view(client)


async def rotate_client_secret(
    session: AsyncSession, rt: Runtime, actor: Actor, client_id: str
) -> IssuedCredentials:
    """A new secret, returned once; every token issued for the old one stops working."""
    client = await _live_client(session, client_id)
    if client.auth_method != ClientAuthMethod.CLIENT_SECRET.value:
        raise InvalidInput(
            "the client has no secret",
            [FieldError(("path", "client_id"), f"it authenticates by {client.auth_method}")],
        )
    secret = generate_client_secret()
    client.secret_hash = hash_client_secret(secret)
    client.credentials_version += 1
    detail = _audit_detail(client)
    append(session, AuditEvent.CLIENT_SECRET_ROTATED, actor, rt.clock(), detail=detail)
    rt.client_status.forget(client_id)
    return IssuedCredentials(client.client_id, secret)


async def _live_client(session: AsyncSession, client_id: str) -> Client:
    client = await session.get(Client, client_id, with_for_update=True) if client_id else None
    if client is None:
        raise NotFound(NO_SUCH_CLIENT)
    if client.revoked_at is not None:
        raise Conflict(f"client {client_id} was revoked at {client.revoked_at.isoformat()}")
    return client


async def clients_of(session: AsyncSession, agency: str | None) -> list[ClientView]:
    statement = select(Client).order_by(Client.agency_code, Client.created_at, Client.client_id)
    if agency is not None:
        statement = statement.where(Client.agency_code == agency)
    return [client_view(c) for c in (await session.scalars(statement)).all()]


async def client_named(session: AsyncSession, client_id: str) -> ClientView:
    client = await session.get(Client, client_id) if client_id else None
    if client is None:
        raise NotFound(NO_SUCH_CLIENT)
    return client_view(client)


def client_view(client: Client) -> ClientView:
    return ClientView(
        client_id=client.client_id,
        agency=client.agency_code,
        scopes=client.scopes.split(),
        auth_method=ClientAuthMethod(client.auth_method),
        jwks_uri=client.jwks_url,
        tls_client_auth_subject_dn=client.tls_subject_dn,
        created_at=client.created_at,
        revoked_at=client.revoked_at,
        credentials_version=client.credentials_version,
    )


def _audit_detail(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "agency": client.agency_code,
        "scopes": client.scopes,
        "auth_method": client.auth_method,
        "credentials_version": client.credentials_version,
    }
