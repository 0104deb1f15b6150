"""The focus resource of each event type, and what a minimised payload leaves out."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from adapters.fhir import crisis, disengagement, risk
from adapters.fhir.bundles import BundleView
from adapters.fhir.elements import Draft, Element
from adapters.fhir.focus import FocusContext
from schemas.events import PAYLOAD_MODELS


@dataclass(frozen=True)
class FocusMapping:
    resource_type: str
    # The focus resource's entry first, then any entries it points to.
    build: Callable[[Mapping[str, Any], FocusContext], list[dict[str, Any]]]
    read: Callable[[Element, BundleView, Draft], None]


FOCUS: Mapping[str, FocusMapping] = {
    "risk.changed": FocusMapping(risk.RESOURCE_TYPE, risk.build, risk.read),
    "engagement.disengaged": FocusMapping(
        disengagement.RESOURCE_TYPE, disengagement.build, disengagement.read
    ),
    "crisis.occurred": FocusMapping(crisis.RESOURCE_TYPE, crisis.build, crisis.read),
}


def withheld_items(event_type: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The payload paths of the event type's model that the payload does not carry."""
    return tuple(_withheld(PAYLOAD_MODELS[event_type], payload, ""))


def with_empty_items(
    event_type: str, payload: dict[str, Any], withheld: frozenset[str]
) -> dict[str, Any]:
    """The payload with each optional item FHIR left out, and that was not withheld, put back
    as the empty value it stands for (an empty list, or null)."""
    for name, field in PAYLOAD_MODELS[event_type].model_fields.items():
        if name not in payload and name not in withheld and not field.is_required():
            payload[name] = field.get_default(call_default_factory=True)
    return payload


def _withheld(model: type[BaseModel], value: Mapping[str, Any], prefix: str) -> list[str]:
    withheld = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        if name not in value:
            withheld.append(path)
            continue
        inner = _nested_model(field.annotation)
        elements = value[name] if isinstance(value[name], list) else [value[name]]
        if inner is not None and elements and isinstance(elements[0], Mapping):
            withheld += _withheld(inner, elements[0], f"{path}.")
    return withheld


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
