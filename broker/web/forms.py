"""Turning a form's validation failure into the broker's one error type."""

from pydantic import ValidationError

from broker.errors import FieldError, InvalidInput


def invalid_input(summary: str, error: ValidationError) -> InvalidInput:
    """Field by field, in words a person can act on ('note: String should have at least 1
    character')."""
    fields = [
        FieldError(tuple(str(part) for part in e["loc"]) or ("form",), e["msg"])
        for e in error.errors()
    ]
    return InvalidInput(summary, fields)
