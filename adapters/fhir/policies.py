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
    codes = [_rule_code(coding.obj("a policy rule coding"), decision) for coding in codings]
    _check_words(rule, codes)


def _rule_code(coding: Element, decision: str) -> str:
    """The coding's rule, OPTIN or OPTOUT, agreeing with `decision`; refused otherwise. No
    diagnostics quote the code sent: it is the caller's text."""
    code = coding.get("code")
    if coding.text_of("system", "the system") != ACT_CODE_SYSTEM or code is None:
        raise refuse(
            "not-supported", "a policy rule is coded v3 ActCode OPTIN or OPTOUT", coding.path
        )
    rule = code.text("the policy rule")
    goes_with = {rule: type_ for type_, (rule, _) in POLICY_RULES.items()}
    if rule not in goes_with:
        raise refuse(
            "not-supported",
            "this policy rule may restrict or widen the provision in ways IMB cannot read; "
            "IMB takes OPTIN or OPTOUT",
            code.path,
        )
    if goes_with[rule] != decision:
        raise refuse(
            "business-rule",
            f"policy rule {rule} goes with provision type {goes_with[rule]}, not {decision}",
            code.path,
        )
    return rule


def _check_words(rule: Element, codes: list[str]) -> None:
    """Words beside the code may say more than it does ("opt-in except housing"): taken only
    when they are the rule's own name."""
    text = rule.text_of("text", "the policy rule's text")
    if text is None:
        return
    names = {name for code in codes for name in (code, _display(code))}
    if text.strip().casefold() not in {name.casefold() for name in names}:
        raise refuse(
            "not-supported",
            "a policy rule's text may only name its code (opt-in, opt-out): words that "
            "qualify it are a restriction IMB cannot read",
            f"{rule.path}.text",
        )


def _display(code: str) -> str:
    return next(display for rule, display in POLICY_RULES.values() if rule == code)
