"""Bodies for registering agencies and their machine clients."""

from typing import Annotated

from pydantic import Field

from schemas.common import AgencyCode, ShortText, WireModel
from schemas.vocabulary import AgencyKind, Scope


class AgencyRegistration(WireModel):
    code: AgencyCode
    name: ShortText
    kind: AgencyKind


class ClientRegistration(WireModel):
    agency: AgencyCode
    scopes: Annotated[list[Scope], Field(min_length=1)]
