"""The engine's plain-English explanations: what was decided, and why an override failed."""

from enum import StrEnum

from consent.model import Agreement, ConsentRecord, DecisionRequest, OverrideClaim
from consent.override import (
    CONFIDENTIALITY_WITHOUT_CONSENT,
    requirements_described,
    supporting_requirement,
)
from consent.vocab import ConsentState, DenyReason, Purpose, Urgency


def why_override_unusable(
    request: DecisionRequest,
    claim: OverrideClaim,
    candidates: list[Agreement],
    supporting: list[Agreement],
) -> str | None:
    missing = _missing_from(claim)
    if missing:
        return f"it lacks {' and '.join(missing)}"
    if request.purpose is not Purpose.SAFEGUARDING and request.urgency is not Urgency.EMERGENCY:
        return (
            "an override applies only to safeguarding or an emergency, and this is "
            f"{words(request.urgency)} {words(request.purpose)}"
        )
    if not supporting:
        return _no_basis_for_override(request, claim, candidates)
    return None


def _missing_from(claim: OverrideClaim) -> list[str]:
    # The person who decided and their reasons are what an information governance review
    # examines; a claim without them cannot be reviewed, so it cannot be used.
    named = (
        ("the name of who authorised it", claim.authorised_by),
        ("a justification", claim.justification),
    )
    return [what for what, given in named if not given.strip()]


def _no_basis_for_override(
    request: DecisionRequest, claim: OverrideClaim, candidates: list[Agreement]
) -> str:
    covering = (
        f"agreement in force between {request.sender} and {request.recipient} covering "
        f"{sharing(request)}"
    )
    if not any(
        a.lawful_basis.confidentiality in CONFIDENTIALITY_WITHOUT_CONSENT for a in candidates
    ):
        # The commonest case, worth naming plainly: a direct care agreement cannot override.
        return (
            f"every {covering} sets confidentiality aside only with the subject's consent, "
            "which the refusal removes"
        )
    return (
        f"no {covering} rests on a lawful basis for {words(claim.reason)}, which needs "
        f"{requirements_described(claim.reason)}"
    )


def permitted(agreement: Agreement, request: DecisionRequest) -> str:
    art6 = words(agreement.lawful_basis.art6)
    return (
        f"Permitted under agreement {agreement.id} v{agreement.version}: {sharing(request)} "
        f"from {request.sender} to {request.recipient} for {words(request.purpose)}, "
        f"on the basis of {art6}."
    )


def overridden(
    agreement: Agreement, request: DecisionRequest, claim: OverrideClaim, refusal: ConsentRecord
) -> str:
    return (
        f"Permitted by override under agreement {agreement.id} v{agreement.version}: "
        f"{sharing(request)} from {request.sender} to {request.recipient} for "
        f"{words(request.purpose)}, although the subject {_SUBJECT_DID[refusal.state]} on "
        f"{refusal.recorded_at.date().isoformat()} (consent record {refusal.id}). "
        f"Override for {words(claim.reason)} authorised by {claim.authorised_by}, relying on "
        f"{_override_basis(agreement, claim)}; it awaits information governance review."
    )


def _override_basis(agreement: Agreement, claim: OverrideClaim) -> str:
    basis = agreement.lawful_basis
    relied_on = [f"{words(basis.confidentiality)} for confidentiality"]
    requirement = supporting_requirement(claim.reason, basis)
    if requirement is not None and requirement.describe(with_confidentiality=False):
        relied_on.append(requirement.describe(with_confidentiality=False))
    return " and ".join(relied_on)


def _no_agreement(request: DecisionRequest) -> str:
    return f"Withheld: no sharing agreement names both {request.sender} and {request.recipient}."


def not_covered(reason: DenyReason, request: DecisionRequest) -> str:
    if reason is DenyReason.NO_AGREEMENT:
        return _no_agreement(request)
    parties = f"{request.sender} and {request.recipient}"
    if reason is DenyReason.AGREEMENT_NOT_IN_FORCE:
        when = request.at.isoformat()
        return f"Withheld: no agreement between {parties} is in force at {when}."
    if reason is DenyReason.EVENT_TYPE_NOT_COVERED:
        return f"Withheld: no agreement in force between {parties} covers {sharing(request)}."
    purpose = words(request.purpose)
    return f"Withheld: no agreement in force between {parties} covers sharing for {purpose}."


_SUBJECT_DID = {
    ConsentState.REFUSED: "refused consent",
    ConsentState.WITHDRAWN: "withdrew consent",
    ConsentState.OBJECTION_RECORDED: "objected to sharing",
}


def refused(record: ConsentRecord, request: DecisionRequest) -> str:
    return (
        f"Withheld: the subject {_SUBJECT_DID[record.state]} on "
        f"{record.recorded_at.date().isoformat()} for {sharing(request)} with "
        f"{request.recipient} for {words(request.purpose)} (consent record {record.id})."
    )


def sharing(request: DecisionRequest) -> str:
    return f"{request.event_type} events"


def words(code: StrEnum) -> str:
    return code.value.replace("_", " ")
