"""Extensions: parts of IMB that live outside `broker/` and plug into it.

An adapter (such as `adapters/fhir`, IMB in FHIR R4) speaks another format on top of the
broker's use cases. The broker must not depend on it, so it never imports one: an extension
names a `register(extensions)` function in the `imb.extensions` entry point group
(pyproject.toml), and the broker calls each it finds. One whose own dependencies are not
installed (`pip install interagency-broker[fhir]` brings FHIR's) is left out, with one log line.

What an extension may add is declared here:
- API routes (mounted by `create_app`);
- a delivery format: a media type a recipient may ask for a delivery in (`Accept` on the
  inbox) or have it pushed in (a channel's `format`);
- an error body for a path prefix: problem details turned into the body that prefix's callers
  expect (an OperationOutcome under /fhir/).
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter

GROUP = "imb.extensions"
log = logging.getLogger(__name__)


class NotRenderable(ValueError):
    """A delivery that has no form in the format asked for (a non-delivery report, say)."""


@dataclass(frozen=True)
class DeliveryToRender:
    """A delivery as its recipient is shown it, and the decision that let it through."""

    content: Mapping[str, Any]  # the DeliveryContent JSON the inbox fetch answers
    decision: Mapping[str, Any]  # the delivery's decision: agreement, version, bases
    recipient: str
    at: datetime


@dataclass(frozen=True)
class DeliveryFormat:
    name: str  # a channel's `format`
    media_type: str  # what `Accept` asks for, and a pushed CloudEvent's datacontenttype
    render: Callable[[DeliveryToRender], dict[str, Any]]  # raises NotRenderable


@dataclass(frozen=True)
class ErrorBody:
    path_prefix: str
    media_type: str
    render: Callable[[Mapping[str, Any]], dict[str, Any]]  # from RFC 9457 problem details
    schema_name: str  # the body's name among the OpenAPI document's schemas
    schema: Mapping[str, Any]  # its JSON Schema


@dataclass
class Extensions:
    routers: list[APIRouter] = field(default_factory=list)
    delivery_formats: dict[str, DeliveryFormat] = field(default_factory=dict)
    error_bodies: list[ErrorBody] = field(default_factory=list)

    def format_accepted(self, accept: str | None) -> DeliveryFormat | None:
        """The delivery format an `Accept` header names, if it names one of ours."""
        wanted = {media_type for media_type, quality in _media_ranges(accept or "") if quality > 0}
        return next((f for f in self.delivery_formats.values() if f.media_type in wanted), None)

    def error_body_for(self, path: str) -> ErrorBody | None:
        return next((e for e in self.error_bodies if path.startswith(e.path_prefix)), None)


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """An Accept header's media types and their q values (`q=0`: not acceptable)."""
    ranges = []
    for part in accept.split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media_type.lower(), quality))
    return ranges


@cache
def extensions() -> Extensions:
    """Every installed extension, registered once per process."""
    found = Extensions()
    for entry in entry_points(group=GROUP):
        try:
            register = entry.load()
        except ImportError as exc:
            log.warning("extension %s is not installed: %s", entry.name, exc)
            continue
        register(found)
    return found
