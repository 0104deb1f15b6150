"""Field types shared by the wire models."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from schemas.nhs_number import validate_nhs_number

AgencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,15}$"),
    Field(description="ODS-style organisation code, e.g. RX4 or LA001", examples=["RX4"]),
]
NhsNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(validate_nhs_number),
    Field(description="10-digit NHS number with a valid modulus-11 check digit"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]


class WireModel(BaseModel):
    """Base of every request body: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(WireModel):
    name: ShortText
    role: ShortText
