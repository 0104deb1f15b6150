"""`imb escalation list`: every agency's escalations (or one's), as its duty team reads them
through `GET /v1/escalations`: no payload and no NHS number. The table words the deadline and
how late; `--json` keeps them RFC 3339 and ISO 8601, as the API gives them."""

import argparse
from typing import Any

from broker.agencies.service import agency_named, registered_agencies
from broker.console import show_rows
from broker.escalations.views import escalation_page
from broker.runtime import Runtime
from schemas.vocabulary import EscalationStatus

PAGE = 500
COLUMNS = (
    "reference",
    "agency",
    "status",
    "route",
    "breach",
    "deadline",
    "late_by",
    "delivery",
    "event_type",
    "urgency",
    "sender",
)


def add_escalation_commands(commands: Any) -> None:
    escalation = commands.add_parser(
        "escalation", help="missed deadlines escalated to duty teams"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = escalation.add_parser(
        "list", help="per agency: open ones first, the most overdue at the top"
    )
    listing.add_argument("--agency", help="only those escalated to this agency")
    listing.add_argument("--open", action="store_true", help="only open ones")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")


async def run_escalations(rt: Runtime, args: argparse.Namespace) -> None:
    status = EscalationStatus.OPEN if args.open else None
    rows: list[dict[str, Any]] = []
    async with rt.db.unit_of_work() as session:
        if args.agency is not None:
            codes = [(await agency_named(session, args.agency)).code]
        else:
            codes = [agency.code for agency in await registered_agencies(session)]
        for code in codes:
            cursor: str | None = None
            while True:
                page = await escalation_page(session, code, status, rt.clock(), PAGE, cursor)
                rows += [{"agency": code, **item.model_dump(mode="json")} for item in page.items]
                if (cursor := page.next_cursor) is None:
                    break
    if args.json:
        show_rows(rows, COLUMNS, as_json=True)
        return
    shown = [_row(r) for r in rows]
    show_rows(shown, COLUMNS, as_json=False, instants=("deadline",), durations=("late_by",))


def _row(item: dict[str, Any]) -> dict[str, Any]:
    delivery = item["delivery"]
    return {
        **item,
        "route": f"{item['route']} (step {item['step']})",
        "delivery": delivery["delivery_id"],
        "event_type": delivery["event_type"],
        "urgency": delivery["urgency"],
        "sender": item["sender"]["agency"],
    }
