"""What a person who signs in does for their agency."""

from enum import StrEnum


class UserRole(StrEnum):
    IG_LEAD = "ig_lead"  # information-governance lead: approves agreements, reviews overrides
    DUTY = "duty"  # duty worker
    AUDITOR = "auditor"
    ADMIN = "admin"


# The roles that may use the information-governance pages.
IG_ROLES = frozenset({UserRole.IG_LEAD, UserRole.ADMIN})
# The roles that may use the duty console.
DUTY_ROLES = frozenset({UserRole.DUTY, UserRole.ADMIN})
# The roles that may use the audit page.
AUDIT_ROLES = frozenset({UserRole.AUDITOR, UserRole.ADMIN})


def home_page(role: str) -> str:
    """Where a person lands after signing in: the pages their role is for."""
    if role == UserRole.DUTY:
        return "/duty"
    if role == UserRole.AUDITOR:
        return "/audit"
    return "/ig/agreements"
