"""An agency's delivery channel on the wire (`/v1/agencies/{code}/channel`).

Every delivery stays readable in the inbox whatever the channel: the channel says how IMB
also pushes it to the agency's record system.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AnyHttpUrl, BaseModel, Field, UrlConstraints, field_validator, model_validator

from schemas.common import WireModel
from schemas.sealed_records import usable_public_key


class ChannelKind(StrEnum):
    INBOX = "inbox"  # pull only: the agency reads GET /v1/inbox
    WEBHOOK = "webhook"  # pushed to the agency's HTTPS endpoint, signed
    KAFKA = "kafka"  # records on the agency's own topic, sealed to its public key


ChannelUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]
IMB_FORMAT = "imb"  # IMB's own JSON, as `GET /v1/inbox/{id}` answers it
# A name of a registered delivery format (the broker checks it is one), as wide as its column.
FormatName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=16)]


class ChannelBody(WireModel):
    kind: ChannelKind
    url: ChannelUrl | None = Field(
        default=None,
        description="webhook only: where deliveries are POSTed; https://, or http:// to a "
        "loopback address; no user or password in it",
    )
    public_key: str | None = Field(
        default=None,
        max_length=100,
        description="kafka only: the agency's X25519 public key (32 bytes, base64url) that "
        "each record's content is sealed to",
    )
    format: FormatName | None = Field(
        default=None,
        description="webhook and kafka only: what each pushed CloudEvent's data is; `imb` "
        "(absent: IMB's JSON, as the inbox fetch answers) or a delivery format the broker "
        "has, such as `fhir` (a FHIR R4 message Bundle)",
    )

    @field_validator("public_key")
    @classmethod
    def _x25519_key(cls, key: str | None) -> str | None:
        return None if key is None else usable_public_key(key)

    @model_validator(mode="after")
    def _what_each_kind_needs(self) -> Self:
        needs = {ChannelKind.WEBHOOK: "url", ChannelKind.KAFKA: "public_key"}
        for kind, field in needs.items():
            given = getattr(self, field) is not None
            if kind is self.kind and not given:
                raise ValueError(f"a {kind} channel needs {field}")
            if kind is not self.kind and given:
                raise ValueError(f"{field} is only for a {kind} channel")
        if self.kind is ChannelKind.INBOX and self.format is not None:
            raise ValueError("format is only for a webhook or kafka channel")
        return self


class ChannelView(BaseModel):
    agency: str
    kind: ChannelKind
    url: str | None
    topic: str | None = Field(description="kafka only: the agency's own topic")
    format: str | None = Field(
        description="webhook and kafka only: what each pushed delivery's data is, `imb` or a "
        "delivery format such as `fhir`"
    )
    public_key: str | None
    enabled: bool = Field(description="false once the receiver answered 410 Gone")
    disabled_reason: str | None
    secret: str | None = Field(
        default=None,
        description="webhook only, and only in the answer that created or rotated it: the "
        "whsec_ secret that signs every webhook; IMB never shows it again",
    )
    previous_secret_valid_until: datetime | None = Field(
        description="after a rotation, the old secret also signs until then"
    )
    updated_at: datetime | None = Field(description="null: never set, the inbox only")
