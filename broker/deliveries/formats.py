"""The format a channel pushes deliveries in: IMB's own JSON, or a delivery format an
extension registers (`broker.extensions`; `fhir`, a FHIR R4 message Bundle).

A delivery with no form in the channel's format (a non-delivery report has no FHIR message)
is pushed as IMB's JSON, its `datacontenttype` saying so: the recipient still gets it, and
the inbox always has it.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broker.errors import FieldError, InvalidInput
from broker.extensions import DeliveryToRender, NotRenderable, extensions
from schemas.channels import IMB_FORMAT

IMB_JSON = "application/json"
log = logging.getLogger(__name__)


def known_formats() -> list[str]:
    return [IMB_FORMAT, *sorted(extensions().delivery_formats)]


def refuse_unknown_format(name: str) -> None:
    if name not in known_formats():
        problem = f"unknown format {name}; this broker has {', '.join(known_formats())}"
        raise InvalidInput(
            "the delivery channel cannot be set", [FieldError(("body", "format"), problem)]
        )


@dataclass(frozen=True)
class PushedData:
    """A push's CloudEvent `data` and its `datacontenttype`."""

    data: dict[str, Any]
    media_type: str


def pushed_data(
    format_name: str,
    content: dict[str, Any],
    decision: Mapping[str, Any],
    recipient: str,
    at: datetime,
) -> PushedData:
    """The delivery's content (`DeliveryContent` JSON) in the channel's format, or as IMB's
    JSON when the format is IMB's, no longer installed, or has no form for this delivery."""
    chosen = extensions().delivery_formats.get(format_name)
    if chosen is None:
        if format_name != IMB_FORMAT:
            log.warning("delivery format %s is not installed: pushed as imb", format_name)
        return PushedData(content, IMB_JSON)
    try:
        rendered = chosen.render(DeliveryToRender(content, decision, recipient, at))
    except NotRenderable:
        return PushedData(content, IMB_JSON)
    return PushedData(rendered, chosen.media_type)
