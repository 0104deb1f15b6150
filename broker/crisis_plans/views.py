"""What a partner agency sees of a crisis plan, and how its content is sealed."""

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from broker.crisis_plans.repository import LoadedPlan
from broker.crypto.envelope import Sealed, open_sealed, seal
from broker.crypto.keys import KeyProvider
from broker.timeframes.policy import iso_duration
from schemas.crisis_plans import CrisisPlanBody

CONTENT_FIELDS = ("triggers", "escalation_routes", "communication_plan")  # sealed at rest


def content_ad(plan_id: UUID, pseudonym: str) -> bytes:
    """Binds the sealed content to its plan and its subject: moved to another row, it fails."""
    return f"imb:v1:crisis-plan:{plan_id}:{pseudonym}".encode()


def sealed_content(
    provider: KeyProvider, plan_id: UUID, pseudonym: str, body: CrisisPlanBody
) -> bytes:
    content = body.model_dump(mode="json", include=set(CONTENT_FIELDS))
    plaintext = json.dumps(content, separators=(",", ":")).encode()
    return seal(provider, plaintext, content_ad(plan_id, pseudonym)).to_bytes()


def plan_view(provider: KeyProvider, loaded: LoadedPlan) -> dict[str, Any]:
    plan = loaded.plan
    sealed = Sealed.from_bytes(plan.content_sealed)
    content = json.loads(open_sealed(provider, sealed, content_ad(plan.id, plan.subject_pseudonym)))
    return {
        "id": str(plan.id),
        "status": plan.status,
        "lead_agency": plan.lead_agency,
        "partners": [
            {
                "agency": p.agency_code,
                "role": p.role,
                "ack_within": _duration(p.ack_within_seconds),
                "confirmed_at": _iso(p.confirmed_at),
                "confirmed_by": p.confirmed_by,
            }
            for p in loaded.partners
        ],
        "ack_within": _duration(plan.ack_within_seconds),
        **content,
        "created_at": _iso(plan.created_at),
        "created_by_agency": plan.created_by_agency,
        "activated_at": _iso(plan.activated_at),
        "ended_at": _iso(plan.ended_at),
    }


def _duration(seconds: float | None) -> str | None:
    return iso_duration(timedelta(seconds=seconds)) if seconds is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
