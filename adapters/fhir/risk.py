"""risk.changed as a RiskAssessment.

Each risk domain is a prediction whose outcome is the domain and whose qualitative risk is the
current level; with no domain shown, one prediction carries the level alone.
"""

from collections.abc import Mapping
from typing import Any

from adapters.fhir.bundles import BundleView, entry
from adapters.fhir.codes import RISK_DOMAIN, RISK_LEVEL, concept, read_concept
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import extension, found, found_one, repeated, value_of
from adapters.fhir.focus import FocusContext, finished, put_texts, put_value

RESOURCE_TYPE = "RiskAssessment"
PREVIOUS_LEVEL = "previous-risk-level"
WARNING_SIGN = "early-warning-indicator"
ACTION_TAKEN = "action-taken"
REVIEW_DATE = "review-date"


def build(payload: Mapping[str, Any], context: FocusContext) -> list[dict[str, Any]]:
    resource: dict[str, Any] = {
        "resourceType": RESOURCE_TYPE,
        "status": "final",
        "subject": context.subject,
        "occurrenceDateTime": context.occurred_at,
    }
    predictions = _predictions(payload.get("risk_domains"), payload.get("current_level"))
    if predictions:
        resource["prediction"] = predictions
    if "rationale" in payload:
        resource["note"] = [{"text": payload["rationale"]}]
    return [entry(context.urls("focus"), finished(resource, _extensions(payload), context))]


def read(focus: Element, view: BundleView, draft: Draft) -> None:
    occurred = focus.require("occurrenceDateTime", "the moment of the assessment")
    draft.put(("occurred_at",), occurred.value, occurred.path)
    previous = found_one(focus, PREVIOUS_LEVEL)
    if previous is not None:
        code = read_concept(
            value_of(previous, "CodeableConcept", "the previous level"),
            RISK_LEVEL,
            "the previous risk level",
        )
        draft.put(("payload", "previous_level"), code.value, code.path)
    _read_predictions(focus, draft)
    _read_rationale(focus, draft)
    put_texts(
        draft,
        ("payload", "early_warning_indicators"),
        found(focus, WARNING_SIGN),
        "an early warning indicator",
    )
    put_texts(draft, ("payload", "actions_taken"), found(focus, ACTION_TAKEN), "an action taken")
    put_value(
        draft, ("payload", "review_date"), found_one(focus, REVIEW_DATE), "Date", "the review date"
    )


def _predictions(domains: list[str] | None, level: str | None) -> list[dict[str, Any]]:
    qualitative = {"qualitativeRisk": concept(RISK_LEVEL, level)} if level is not None else {}
    if domains:
        return [{"outcome": concept(RISK_DOMAIN, domain), **qualitative} for domain in domains]
    return [qualitative] if qualitative else []


def _extensions(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    extensions = []
    if "previous_level" in payload:
        previous = concept(RISK_LEVEL, payload["previous_level"])
        extensions.append(extension(PREVIOUS_LEVEL, "CodeableConcept", previous))
    extensions += repeated(WARNING_SIGN, "String", payload.get("early_warning_indicators", []))
    extensions += repeated(ACTION_TAKEN, "String", payload.get("actions_taken", []))
    if payload.get("review_date") is not None:
        extensions.append(extension(REVIEW_DATE, "Date", payload["review_date"]))
    return extensions


def _read_predictions(focus: Element, draft: Draft) -> None:
    predictions = focus.items("prediction")
    outcomes = [p.get("outcome") for p in predictions]
    levels = [p.get("qualitativeRisk") for p in predictions]
    domains = [read_concept(o, RISK_DOMAIN, "a risk domain") for o in outcomes if o is not None]
    if domains:
        _all_or_none(outcomes, predictions, "outcome")
        draft.put(("payload", "risk_domains"), [d.value for d in domains], domains[0].path)
        for index, domain in enumerate(domains):
            draft.read_from(("payload", "risk_domains", index), domain.path)
    codes = [read_concept(q, RISK_LEVEL, "the current risk level") for q in levels if q]
    if codes:
        _all_or_none(levels, predictions, "qualitativeRisk")
        for code in codes[1:]:
            if code.value != codes[0].value:
                raise refuse("value", "every prediction must give the same risk level", code.path)
        draft.put(("payload", "current_level"), codes[0].value, codes[0].path)


def _all_or_none(values: list[Element | None], predictions: list[Element], key: str) -> None:
    for value, prediction in zip(values, predictions, strict=True):
        if value is None:
            raise refuse(
                "required", f"every prediction needs its {key}", f"{prediction.path}.{key}"
            )


def _read_rationale(focus: Element, draft: Draft) -> None:
    notes = focus.items("note")
    if len(notes) > 1:
        raise refuse("not-supported", "the rationale is one note; more were given", notes[1].path)
    if notes:
        text = notes[0].require("text", "the rationale")
        draft.put(("payload", "rationale"), text.text("the rationale"), text.path)
