"""What of a decision an agency may be told, when it is not among the person's carers.

A sender must always learn whether its message reached each recipient: an alert that did not
arrive is a safety matter. But the detail of why, where it is the person's own position
(a refusal, a withdrawal, an objection, and which consent records said so), is for the agencies
that keep the person's consent records (broker.subjects.access): another agency is told only
that the person's recorded position withheld it, and is shown no consent record ids. That
whatever withheld it was the person's position can still be inferred; the rest cannot.
"""

from collections.abc import Mapping
from typing import Any

from consent.vocab import DenyReason

PERSONS_POSITION = "persons_position"
_CONSENT_REASONS = {
    DenyReason.CONSENT_REFUSED.value,
    DenyReason.CONSENT_WITHDRAWN.value,
    DenyReason.OBJECTION_RECORDED.value,
}
_EXPLANATION = (
    "Withheld because of the person's recorded position on sharing; its detail is shown only "
    "to the agencies that keep the person's consent records."
)


def disclosed(detail: Mapping[str, Any], known: bool) -> dict[str, Any]:
    """The decision detail as shown to a viewer who does (`known`) or does not keep the
    person's consent records."""
    shown = dict(detail)
    if known:
        return shown
    shown["consent_record_ids"] = []
    if shown.get("reason") in _CONSENT_REASONS:
        shown["reason"] = PERSONS_POSITION
        shown["explanation"] = _EXPLANATION
    return shown
