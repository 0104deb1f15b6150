"""Data minimisation: a recipient sees only the payload items its agreement allows."""

from typing import Any

from consent.model import Obligations
from consent.redact import redact


def minimised(content: dict[str, Any], obligations: Obligations) -> dict[str, Any]:
    """The message content with the payload cut down to the agreement's data items."""
    return {**content, "payload": redact(content["payload"], obligations.allowed_items)}
