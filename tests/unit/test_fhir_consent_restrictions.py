"""A Consent narrower than IMB can record is refused, never recorded as a broader one: every
restriction IMB does not understand is answered not-supported, at the element that made it."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent

from adapters.fhir import FhirInputError, Issue, consent_from_fhir, consent_to_fhir

NHS_NUMBER = "9997654323"
EVENT_SYSTEM = "https://interagency-broker.uk/fhir/CodeSystem/imb-event-type"
SNOMED = "http://snomed.info/sct"
MODIFIER = [{"url": "https://example.org/only-on-weekdays", "valueBoolean": True}]
REFUSAL: dict[str, Any] = {
    "id": "0d4b7e21-6a95-4c3f-b8e0-2f7a9c1d5e64",
    "state": "refused",
    "scope": {"recipients": ["HOU01"], "event_types": ["risk.changed"], "purposes": []},
    "recorded_by": {"name": "A. Patel", "role": "Care coordinator"},
    "evidence": "Said at clinic on 2 March that housing must not be told.",
    "valid_from": None,
    "valid_to": None,
    "recorded_at": "2026-03-02T09:30:00+00:00",
    "recording_agency": "RX4",
    "supersedes": [],
}
Resource = dict[str, Any]


def _refusal() -> Resource:
    return copy.deepcopy(consent_to_fhir(REFUSAL, NHS_NUMBER))


def _changed(change: Callable[[Resource], object]) -> Resource:
    resource = _refusal()
    change(resource)
    Consent.parse_obj(resource)  # valid FHIR: refused by IMB, not by the FHIR models
    return resource


def _issues(resource: Resource) -> tuple[Issue, ...]:
    with pytest.raises(FhirInputError) as refusal:
        consent_from_fhir(resource)
    for issue in refusal.value.issues:
        assert NHS_NUMBER not in issue.diagnostics
        assert "clinic" not in issue.diagnostics
    return refusal.value.issues


def _provision(resource: Resource) -> Resource:
    provision: Resource = resource["provision"]
    return provision


def _foreign_code(resource: Resource) -> None:
    _provision(resource)["code"].append({"coding": [{"system": SNOMED, "code": "371531000"}]})


def _two_event_types_in_one_code(resource: Resource) -> None:
    coding = {"system": EVENT_SYSTEM, "code": "crisis-occurred"}
    _provision(resource)["code"][0]["coding"].append(coding)


def _foreign_class(resource: Resource) -> None:
    _provision(resource)["class"] = [{"system": "http://hl7.org/fhir/resource-types", "code": "X"}]


def _other_actor_role(resource: Resource) -> None:
    role = _provision(resource)["actor"][0]["role"]["coding"][0]
    role.update(code="AUT", display="author (originator)")


NARROWINGS: dict[str, tuple[Callable[[Resource], object], str]] = {
    "a code from another system": (_foreign_code, "Consent.provision.code[1]"),
    "two event types in one code": (_two_event_types_in_one_code, "Consent.provision.code[0]"),
    "a class from another system": (_foreign_class, "Consent.provision.class[0]"),
    "an actor in another role": (_other_actor_role, "Consent.provision.actor[0].role"),
    "the data it covers": (
        lambda r: _provision(r).update(
            data=[{"meaning": "instance", "reference": {"reference": "Flag/1"}}]
        ),
        "Consent.provision.data",
    ),
    "a period of the data": (
        lambda r: _provision(r).update(dataPeriod={"start": "2026-01-01T00:00:00Z"}),
        "Consent.provision.dataPeriod",
    ),
    "a security label": (
        lambda r: _provision(r).update(
            securityLabel=[
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
            ]
        ),
        "Consent.provision.securityLabel",
    ),
    "a nested provision": (
        lambda r: _provision(r).update(provision=[{"type": "permit", "purpose": []}]),
        "Consent.provision.provision",
    ),
    "an action other than disclosure": (
        lambda r: _provision(r).update(action=[_action("access")]),
        "Consent.provision.action[0]",
    ),
    "a modifier extension on the Consent": (
        lambda r: r.update(modifierExtension=MODIFIER),
        "Consent.modifierExtension",
    ),
    "a modifier extension on the provision": (
        lambda r: _provision(r).update(modifierExtension=MODIFIER),
        "Consent.provision.modifierExtension",
    ),
    "a modifier extension on an actor": (
        lambda r: _provision(r)["actor"][0].update(modifierExtension=MODIFIER),
        "Consent.provision.actor[0].modifierExtension",
    ),
    "a modifier extension in a contained resource": (
        lambda r: r["contained"][0].update(modifierExtension=MODIFIER),
        "Consent.contained[0].modifierExtension",
    ),
    "a policy document": (
        lambda r: r.update(policy=[{"uri": "https://example.org/research-only-policy"}]),
        "Consent.policy[0]",
    ),
    "an opt-out with exceptions": (
        lambda r: r.update(policyRule=_rule("OPTOUTE")),
        "Consent.policyRule.coding[0].code",
    ),
    "a policy rule from another system": (
        lambda r: r.update(policyRule={"coding": [{"system": SNOMED, "code": "1"}]}),
        "Consent.policyRule.coding[0]",
    ),
    "a policy rule in words only": (
        lambda r: r.update(policyRule={"text": "opt-out except for crises"}),
        "Consent.policyRule",
    ),
    "a policy rule qualified in words": (
        lambda r: r["policyRule"].update(text="opt-out, except for crises"),
        "Consent.policyRule.text",
    ),
}
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _rule(code: str) -> Resource:
    return {"coding": [{"system": ACT_CODE, "code": code}]}


def _action(code: str) -> Resource:
    return {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": code}]
    }


@pytest.mark.parametrize("narrowing", sorted(NARROWINGS))
def test_a_restriction_imb_cannot_honour_is_refused_where_it_is_made(narrowing: str) -> None:
    change, expression = NARROWINGS[narrowing]

    (issue,) = _issues(_changed(change))

    assert (issue.code, issue.expression) == ("not-supported", expression)


def test_the_example_refusal_itself_is_recorded_as_it_was_given() -> None:
    _, body = consent_from_fhir(_refusal())

    assert body["scope"] == REFUSAL["scope"]


def test_an_event_type_may_also_carry_its_code_in_another_system() -> None:
    resource = _changed(
        lambda r: _provision(r)["code"][0]["coding"].append({"system": SNOMED, "code": "1"})
    )

    _, body = consent_from_fhir(resource)

    assert body["scope"]["event_types"] == ["risk.changed"]


def test_the_disclose_action_is_what_imb_does_and_is_taken() -> None:
    resource = _changed(lambda r: _provision(r).update(action=[_action("disclose")]))

    _, body = consent_from_fhir(resource)

    assert body["scope"] == REFUSAL["scope"]


def test_every_modifier_extension_is_named() -> None:
    def two(resource: Resource) -> None:
        resource.update(modifierExtension=MODIFIER)
        _provision(resource).update(modifierExtension=MODIFIER)

    issues = _issues(_changed(two))

    assert [i.expression for i in issues] == [
        "Consent.modifierExtension",
        "Consent.provision.modifierExtension",
    ]


def test_a_policy_rule_that_contradicts_the_provision_is_refused() -> None:
    (issue,) = _issues(_changed(lambda r: r.update(policyRule=_rule("OPTIN"))))

    assert (issue.code, issue.expression) == ("business-rule", "Consent.policyRule.coding[0].code")


def test_a_refusal_under_opt_out_or_under_no_rule_is_taken() -> None:
    under_opt_out = _changed(lambda r: r.update(policyRule=_rule("OPTOUT")))
    # R4's invariant ppc-1 asks for a rule or a policy; IMB does not insist on either.
    under_no_rule = _refusal()
    del under_no_rule["policyRule"]

    for resource in (under_opt_out, under_no_rule):
        _, body = consent_from_fhir(resource)
        assert body["state"] == "refused"


def test_a_policy_rule_named_in_words_too_is_taken() -> None:
    resource = _changed(lambda r: r["policyRule"].update(text="Opt-out"))

    _, body = consent_from_fhir(resource)

    assert body["state"] == "refused"


def test_an_unknown_policy_rule_is_not_repeated_in_the_refusal() -> None:
    (issue,) = _issues(_changed(lambda r: r.update(policyRule=_rule("9434765919"))))

    assert issue.code == "not-supported"
    assert "9434765919" not in issue.diagnostics
