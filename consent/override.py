"""When significant risk may override a person's refusal: the lawful bases each reason needs.

An override shares information the person has refused, withdrawn or objected to. The agreement
it is shared under must already rest on a basis that does not depend on the person's agreement,
because the override cannot create a basis; it can only rely on one the parties have approved.

Two layers must both hold (UK GDPR for the data protection side, the common law for
confidentiality; meeting one does not meet the other):

1. Confidentiality. A refusal removes the implied consent that individual care normally rests
   on, so the duty of confidence can only be set aside by an overriding public interest (W v
   Egdell [1990] Ch 359; GMC, Confidentiality: good practice in handling patient information,
   2017, disclosures in the public interest) or by a legal requirement (a statute or court order).
2. A basis that fits the reason claimed, per the table below.

HSCA 2012 s251B (the duty to share for individual care) never counts: the duty does not apply
where the person objects or would be likely to, which is exactly the situation of an override.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from consent.model import LawfulBasis
from consent.vocab import (
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    OverrideReason,
    StatutoryGateway,
)

__all__ = [
    "CONFIDENTIALITY_WITHOUT_CONSENT",
    "OVERRIDE_BASES",
    "BasisRequirement",
    "requirements_described",
    "supporting_requirement",
    "supports_override",
]

CONFIDENTIALITY_WITHOUT_CONSENT = frozenset(
    {ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST, ConfidentialityBasis.LEGAL_REQUIREMENT}
)

# The duty to share for individual care is disapplied on objection, so it is left out here.
_GATEWAYS_OTHER_THAN_S251B = frozenset(StatutoryGateway) - {
    StatutoryGateway.HSCA2012_S251B_DUTY_TO_SHARE
}


@dataclass(frozen=True, slots=True)
class BasisRequirement:
    """One way an agreement's lawful basis can support an override: every named part holds."""

    art6: Art6Basis | None = None
    art9: Art9Condition | None = None
    dpa_sch1_para: str | None = None
    confidentiality: ConfidentialityBasis | None = None
    any_gateway: frozenset[StatutoryGateway] = frozenset()  # one of these, when named

    def met_by(self, basis: LawfulBasis) -> bool:
        gateways = set(basis.statutory_gateways) - {StatutoryGateway.HSCA2012_S251B_DUTY_TO_SHARE}
        return (
            _matches(self.art6, basis.art6)
            and _matches(self.art9, basis.art9)
            and _matches(self.dpa_sch1_para, basis.dpa_sch1_para)
            and _matches(self.confidentiality, basis.confidentiality)
            and (not self.any_gateway or bool(self.any_gateway & gateways))
        )

    def describe(self, with_confidentiality: bool = True) -> str:
        parts = [f"Art 6 {_words(self.art6)}"] if self.art6 else []
        parts += [f"Art 9 {_words(self.art9)}"] if self.art9 else []
        if self.dpa_sch1_para:
            parts.append(f"DPA 2018 Sch 1 para {self.dpa_sch1_para}")
        if self.confidentiality and with_confidentiality:
            parts.append(f"confidentiality basis {_words(self.confidentiality)}")
        if self.any_gateway:
            names = " or ".join(sorted(_words(g) for g in self.any_gateway))
            parts.append(f"statutory gateway {names}")
        return " with ".join(parts)


# Each reason lists the alternatives that support it; any one is enough.
OVERRIDE_BASES: Mapping[OverrideReason, tuple[BasisRequirement, ...]] = {
    # DPA 2018 Sch 1 para 18 (safeguarding of children and of individuals at risk) is the Art
    # 9(2)(g) condition written for sharing without consent where seeking it would put the
    # person at risk. For adults, the Care Act 2014 s42 enquiry is also a statutory route.
    OverrideReason.SAFEGUARDING_ADULT_AT_RISK: (
        BasisRequirement(art9=Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST, dpa_sch1_para="18"),
        BasisRequirement(any_gateway=frozenset({StatutoryGateway.CARE_ACT_S42_ENQUIRY})),
    ),
    # s42 is about adults only, so a child's safeguarding rests on para 18 alone.
    OverrideReason.SAFEGUARDING_CHILD: (
        BasisRequirement(art9=Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST, dpa_sch1_para="18"),
    ),
    # Art 9(2)(c) or Art 6(1)(d): to protect someone's life. Either condition in the agreement
    # shows the parties approved sharing on that ground.
    OverrideReason.VITAL_INTERESTS: (
        BasisRequirement(art9=Art9Condition.VITAL_INTERESTS),
        BasisRequirement(art6=Art6Basis.VITAL_INTERESTS),
    ),
    # Serious harm to others: the public interest test of the common law, paired with Art
    # 9(2)(g), since the public interest must carry the health data too.
    OverrideReason.SERIOUS_HARM_PUBLIC_INTEREST: (
        BasisRequirement(
            confidentiality=ConfidentialityBasis.OVERRIDING_PUBLIC_INTEREST,
            art9=Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST,
        ),
    ),
    # A legal duty: a legal requirement for confidentiality, Art 6(1)(c), or a statute that
    # requires or permits the sharing (not s251B, disapplied on objection).
    OverrideReason.LEGAL_DUTY: (
        BasisRequirement(confidentiality=ConfidentialityBasis.LEGAL_REQUIREMENT),
        BasisRequirement(art6=Art6Basis.LEGAL_OBLIGATION),
        BasisRequirement(any_gateway=_GATEWAYS_OTHER_THAN_S251B),
    ),
}


def supports_override(reason: OverrideReason, basis: LawfulBasis) -> bool:
    """Whether a lawful basis lets information be shared against a refusal for this reason."""
    return supporting_requirement(reason, basis) is not None


def supporting_requirement(reason: OverrideReason, basis: LawfulBasis) -> BasisRequirement | None:
    """The first alternative in the table that this basis meets for this reason, if any."""
    if basis.confidentiality not in CONFIDENTIALITY_WITHOUT_CONSENT:
        return None
    return next((r for r in OVERRIDE_BASES[reason] if r.met_by(basis)), None)


def requirements_described(reason: OverrideReason) -> str:
    """What an agreement's basis needs for this reason, in words for an explanation."""
    confidentiality = " or ".join(sorted(_words(c) for c in CONFIDENTIALITY_WITHOUT_CONSENT))
    alternatives = [r.describe() for r in OVERRIDE_BASES[reason]]
    needed = alternatives[0] if len(alternatives) == 1 else f"one of: {'; '.join(alternatives)}"
    return f"a confidentiality basis of {confidentiality}, and {needed}"


def _matches(required: object, actual: object) -> bool:
    return required is None or required == actual


def _words(code: str) -> str:
    return code.replace("_", " ")
