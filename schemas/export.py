"""JSON Schema of the wire contract for EPR vendors; `make schemas` writes schemas/json/."""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.acks import Acknowledgement
from schemas.agreements import AgreementApproval, AgreementBody, AgreementEnd
from schemas.care_team import CareTeam
from schemas.channels import ChannelBody
from schemas.consents import ConsentBody
from schemas.crisis_plans import CrisisPlanBody, CrisisPlanConfirmation
from schemas.escalations import DutyTeamBody, EscalationAck
from schemas.events import EVENT_SUBMISSION
from schemas.timeframes import TimeframesBody

FOLDER = Path(__file__).parent / "json"


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, for every request body a partner system sends."""
    models: dict[str, TypeAdapter[Any]] = {
        "event.schema.json": EVENT_SUBMISSION,
        "acknowledgement.schema.json": TypeAdapter(Acknowledgement),
        "care-team.schema.json": TypeAdapter(CareTeam),
        "agreement.schema.json": TypeAdapter(AgreementBody),
        "agreement-approval.schema.json": TypeAdapter(AgreementApproval),
        "agreement-end.schema.json": TypeAdapter(AgreementEnd),
        "consent.schema.json": TypeAdapter(ConsentBody),
        "timeframes.schema.json": TypeAdapter(TimeframesBody),
        "escalation-ack.schema.json": TypeAdapter(EscalationAck),
        "duty-team.schema.json": TypeAdapter(DutyTeamBody),
        "channel.schema.json": TypeAdapter(ChannelBody),
        "crisis-plan.schema.json": TypeAdapter(CrisisPlanBody),
        "crisis-plan-confirmation.schema.json": TypeAdapter(CrisisPlanConfirmation),
    }
    return {name: adapter.json_schema() for name, adapter in models.items()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    FOLDER.mkdir(exist_ok=True)
    for name, schema in json_schemas().items():
        (FOLDER / name).write_text(render(schema))
        print(f"wrote {FOLDER / name}", file=sys.stderr)
