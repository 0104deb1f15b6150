"""crisis.occurred as an Encounter: the crisis episode, its presentation as the reason, with
IMB extensions for what FHIR has no element for (the escalation summary, in SBAR's order)."""

from collections.abc import Mapping
from typing import Any

from adapters.fhir.bundles import BundleView, entry
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import (
    complex_extension,
    extension,
    found,
    found_one,
    part,
    repeated,
    value_of,
)
from adapters.fhir.focus import FocusContext, finished, put_texts, put_value
from adapters.fhir.names import ACT_CODE_SYSTEM, CRISIS_PLAN_SYSTEM

RESOURCE_TYPE = "Encounter"
OCCURRED_AT = "occurred-at"
IMMEDIATE_RISK = "immediate-risk"
SERVICE_INVOLVED = "service-involved"
CRISIS_PLAN = "crisis-plan"
ESCALATION_SUMMARY = "escalation-summary"
SUMMARY_PARTS = (
    ("what-has-been-done", "what_has_been_done"),
    ("what-has-changed", "what_has_changed"),
    ("what-is-requested", "what_is_requested"),
)
# A crisis is emergency care wherever it happens; whether it has ended is not IMB's to say.
EMERGENCY = {"system": ACT_CODE_SYSTEM, "code": "EMER", "display": "emergency"}


def build(payload: Mapping[str, Any], context: FocusContext) -> list[dict[str, Any]]:
    resource: dict[str, Any] = {
        "resourceType": RESOURCE_TYPE,
        "status": "unknown",
        "class": EMERGENCY,
        "subject": context.subject,
    }
    if "started_at" in payload:
        resource["period"] = {"start": payload["started_at"]}
    if "presentation" in payload:
        resource["reasonCode"] = [{"text": payload["presentation"]}]
    occurred = extension(OCCURRED_AT, "DateTime", context.occurred_at)
    focus = finished(resource, [occurred, *_extensions(payload)], context)
    return [entry(context.urls("focus"), focus)]


def read(focus: Element, view: BundleView, draft: Draft) -> None:
    occurred = found_one(focus, OCCURRED_AT)
    if occurred is None:
        raise refuse("required", f"extension {OCCURRED_AT} is required", f"{focus.path}.extension")
    put_value(draft, ("occurred_at",), occurred, "DateTime", "the moment of the event")
    period = focus.get("period")
    start = period.get("start") if period is not None else None
    if start is not None:
        draft.put(("payload", "started_at"), start.value, start.path)
    _read_presentation(focus, draft)
    put_value(
        draft,
        ("payload", "immediate_risk"),
        found_one(focus, IMMEDIATE_RISK),
        "Boolean",
        "the immediate risk",
    )
    put_texts(
        draft,
        ("payload", "services_involved"),
        found(focus, SERVICE_INVOLVED),
        "a service involved",
    )
    _read_crisis_plan(found_one(focus, CRISIS_PLAN), draft)
    _read_summary(found_one(focus, ESCALATION_SUMMARY), draft)


def _extensions(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    extensions = []
    if "immediate_risk" in payload:
        extensions.append(extension(IMMEDIATE_RISK, "Boolean", payload["immediate_risk"]))
    extensions += repeated(SERVICE_INVOLVED, "String", payload.get("services_involved", []))
    if payload.get("crisis_plan_id") is not None:
        plan = {
            "type": "CarePlan",
            "identifier": {"system": CRISIS_PLAN_SYSTEM, "value": payload["crisis_plan_id"]},
        }
        extensions.append(extension(CRISIS_PLAN, "Reference", plan))
    if "escalation_summary" in payload:
        summary = payload["escalation_summary"]
        parts = [(name, "String", summary.get(key)) for name, key in SUMMARY_PARTS]
        extensions.append(complex_extension(ESCALATION_SUMMARY, parts))
    return extensions


def _read_presentation(focus: Element, draft: Draft) -> None:
    reasons = focus.items("reasonCode")
    if len(reasons) > 1:
        raise refuse(
            "not-supported", "the presentation is one reason; more were given", reasons[1].path
        )
    if reasons:
        text = reasons[0].require("text", "the presentation")
        draft.put(("payload", "presentation"), text.text("the presentation"), text.path)


def _read_crisis_plan(plan: Element | None, draft: Draft) -> None:
    if plan is None:
        return
    ref = value_of(plan, "Reference", "the crisis plan")
    identifier = ref.obj("the crisis plan").require("identifier", "the crisis plan")
    if identifier.obj("the crisis plan").value.get("system") != CRISIS_PLAN_SYSTEM:
        raise refuse(
            "value", f"the crisis plan is identified in {CRISIS_PLAN_SYSTEM}", identifier.path
        )
    value = identifier.require("value", "the crisis plan's id")
    draft.put(("payload", "crisis_plan_id"), value.value, value.path)


def _read_summary(summary: Element | None, draft: Draft) -> None:
    if summary is None:
        return
    draft.put(("payload", "escalation_summary"), {}, summary.path)
    for name, key in SUMMARY_PARTS:
        put_value(
            draft,
            ("payload", "escalation_summary", key),
            part(summary, name),
            "String",
            f"the escalation summary's {name}",
        )
