"""Bodies for registering agencies and their machine clients, and the views of clients."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from limits import parse_many
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    HttpUrl,
    StringConstraints,
    model_validator,
)

from schemas.common import AgencyCode, ShortText, WireModel
from schemas.vocabulary import AgencyKind, Scope


class AgencyRegistration(WireModel):
    code: AgencyCode
    name: ShortText
    kind: AgencyKind


class ClientAuthMethod(StrEnum):
    """How a client proves itself at the token endpoint (RFC 7591 token_endpoint_auth_method)."""

    CLIENT_SECRET = "client_secret"  # noqa: S105 (RFC 6749 client_secret_basic or _post)
    PRIVATE_KEY_JWT = "private_key_jwt"  # a signed assertion (RFC 7523), as SMART Backend Services
    TLS_CLIENT_AUTH = "tls_client_auth"  # a CA-issued certificate with a known subject (RFC 8705)


SubjectDn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class Jwks(WireModel):
    """A JSON Web Key Set of public keys (RFC 7517 §5)."""

    keys: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=10)]


class ClientRegistration(WireModel):
    agency: AgencyCode
    scopes: Annotated[list[Scope], Field(min_length=1)]
    auth_method: ClientAuthMethod = ClientAuthMethod.CLIENT_SECRET
    jwks: Jwks | None = Field(default=None, description="public keys, for private_key_jwt")
    jwks_uri: HttpUrl | None = Field(
        default=None, description="where the client publishes its public keys, for private_key_jwt"
    )
    tls_client_auth_subject_dn: SubjectDn | None = Field(
        default=None, description="its certificate's subject (RFC 4514), for tls_client_auth"
    )

    @model_validator(mode="after")
    def _credentials_fit_the_method(self) -> "ClientRegistration":
        method = self.auth_method
        keyed = (self.jwks is not None) + (self.jwks_uri is not None)
        if method is ClientAuthMethod.PRIVATE_KEY_JWT and keyed != 1:
            raise ValueError("private_key_jwt needs exactly one of jwks and jwks_uri")
        if method is not ClientAuthMethod.PRIVATE_KEY_JWT and keyed:
            raise ValueError("jwks and jwks_uri are only for private_key_jwt")
        certified = self.tls_client_auth_subject_dn is not None
        if certified != (method is ClientAuthMethod.TLS_CLIENT_AUTH):
            raise ValueError("tls_client_auth needs tls_client_auth_subject_dn, and only it")
        return self


class ClientView(BaseModel):
    """A client as an administrator sees it: never a secret, never a private key."""

    client_id: str
    agency: str
    scopes: list[str]
    auth_method: ClientAuthMethod
    jwks_uri: str | None
    tls_client_auth_subject_dn: str | None
    created_at: datetime
    revoked_at: datetime | None
    credentials_version: int


class ClientPage(BaseModel):
    items: list[ClientView]


def _rate(text: str) -> str:
    """One rate (not a list of several), of at least one call, over at most a day."""
    try:
        rates = parse_many(text)
    except ValueError as exc:
        raise ValueError("a rate such as 1200/minute or 20/second") from exc
    if len(rates) != 1 or any(c in text for c in ";,|"):
        raise ValueError("one rate, such as 1200/minute")
    if rates[0].amount < 1 or rates[0].get_expiry() > 86400:
        raise ValueError("at least one call, over at most a day")
    return text


Rate = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=40),
    AfterValidator(_rate),
    Field(examples=["1200/minute"]),
]


class RateLimitsBody(WireModel):
    """An agency's own limits per client; null: the broker's default."""

    publish: Rate | None = Field(default=None, description="publishing events, per client")
    read: Rate | None = Field(default=None, description="every other call, per client")


class RateLimitsView(BaseModel):
    agency: str
    publish: str | None
    read: str | None
    effective_publish: str
    effective_read: str
