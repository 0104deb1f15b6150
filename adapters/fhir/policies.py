"""The rule a Consent is given under: `Consent.policyRule`, and `Consent.policy`.

IMB writes `policyRule` OPTIN for a consent that permits sharing and OPTOUT for one that
refuses it (R4 asks every Consent for a policy or a policy rule, invariant ppc-1). A submitted
Consent may carry either, agreeing with its provision type. Any other rule, OPTINR (opt-in with
restrictions) and OPTOUTE (opt-out with exceptions) among them, and any `policy` document, may
narrow or widen what the provision says in ways IMB cannot read: it is refused, never ignored,
so that IMB never records a broader consent, or a narrower refusal, than the person gave.
"""

from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.names import ACT_CODE_SYSTEM

# The provision type each rule IMB reads goes with, and how IMB writes it.
POLICY_RULES = {"permit": ("OPTIN", "opt-in"), "deny": ("OPTOUT", "opt-out")}


def policy_rule(decision: str) -> dict[str, str]:
    code, display = POLICY_RULES[decision]
    return {"system": ACT_CODE_SYSTEM, "code": code, "display": display}


def check_policy(consent: Element, decision: str) -> None:
    """Refuse a policy or policy rule IMB cannot honour, or one that contradicts `decision`."""
    policies = consent.items("policy")
    if policies:
        raise refuse(
            "not-supported",
            "IMB cannot read a policy document: state the rule as policyRule OPTIN or OPTOUT "
            "and the scope in the provision",
            policies[0].path,
        )
    rule = consent.get("policyRule")
    if rule is None:
        return
    codings = rule.obj("the policy rule").items("coding")
    if not codings:
        raise refuse(
            "not-supported", "a policy rule is coded v3 ActCode OPTIN or OPTOUT", rule.path
        )
    for coding in codings:
        _check_rule(coding.obj("a policy rule coding"), decision)


def _check_rule(coding: Element, decision: str) -> None:
    code = coding.get("code")
    known = {rule: type_ for type_, (rule, _) in POLICY_RULES.items()}
    if coding.text_of("system", "the system") != ACT_CODE_SYSTEM or code is None:
        raise refuse(
            "not-supported", "a policy rule is coded v3 ActCode OPTIN or OPTOUT", coding.path
        )
    rule = code.text("the policy rule")
    if rule not in known:
        raise refuse(
            "not-supported",
            f"policy rule {rule} may restrict or widen the provision in ways IMB cannot read; "
            "IMB takes OPTIN or OPTOUT",
            code.path,
        )
    if known[rule] != decision:
        raise refuse(
            "business-rule",
            f"policy rule {rule} goes with provision type {known[rule]}, not {decision}",
            code.path,
        )
