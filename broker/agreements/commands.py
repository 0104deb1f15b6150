"""`imb agreement list | show`: sharing agreements as `GET /v1/agreements` reads them for an
administrator (`add` and `approve` are in broker/cli.py)."""

import argparse
from typing import Any
from uuid import UUID

from broker.agencies.service import agency_named
from broker.agreements.service import get_agreement, list_agreements
from broker.console import show_record, show_rows
from broker.errors import InvalidInput
from broker.runtime import Runtime
from consent.vocab import AgreementStatus

COLUMNS = (
    "id",
    "title",
    "version",
    "status",
    "parties",
    "effective_from",
    "effective_to",
    "review_date",
    "pending_approvals",
)
INSTANTS = ("effective_from", "effective_to", "created_at", "activated_at", "ended_at")


def add_agreement_reading_commands(agreement: Any) -> None:
    listing = agreement.add_parser("list", help="agreements, newest first, as their newest version")
    listing.add_argument("--agency", help="only those naming this agency as a party")
    listing.add_argument(
        "--status",
        choices=[status.value for status in AgreementStatus],
        help="only those with a version in this status now",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    show = agreement.add_parser("show", help="an agreement's terms and every version's history")
    show.add_argument("id", help="the agreement's id")
    show.add_argument("--json", action="store_true", help="one JSON object")


def agreement_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(f"not an agreement id: {text!r}") from None


async def run_agreement_reading(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.db.unit_of_work() as session:
        if args.action == "show":
            view = await get_agreement(session, rt, agreement_id(args.id), None)
            shown = view if args.json else _readable(view)
            show_record(shown, as_json=args.json, instants=INSTANTS)
            return
        if args.agency is not None:
            await agency_named(session, args.agency)  # a mistyped code is not "no agreements"
        views = await list_agreements(session, rt, party=args.agency, status=args.status)
    rows = views if args.json else [_readable(v) for v in views]
    show_rows(rows, COLUMNS, as_json=args.json, instants=INSTANTS)


def _readable(view: dict[str, Any]) -> dict[str, Any]:
    """Parties and versions as a line each, for a table."""
    return {
        **view,
        "parties": [f"{p['agency']} ({p['role']})" for p in view["parties"]],
        "versions": [f"{v['version']} {v['status']}" for v in view["versions"]],
    }
