"""`imb dead-letters list | redrive`: an operator's view of webhook pushes that ran out of
retries, and pushing one again."""

import argparse
import json
import uuid
from typing import Any

from broker.agencies.commands import OPERATOR
from broker.console import show_rows
from broker.deliveries.dead_letters import dead_letters, redrive
from broker.errors import FieldError, InvalidInput
from broker.runtime import Runtime

DEAD_LETTER_COLUMNS = (
    "delivery_id",
    "type",
    "agency",
    "state",
    "attempts",
    "last_status_code",
    "dead_lettered_at",
)


def add_dead_letter_commands(commands: Any) -> None:
    dead = commands.add_parser(
        "dead-letters", help="webhook pushes that ran out of retries"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = dead.add_parser("list", help="dead letters, newest first")
    listing.add_argument("--agency", help="only this agency's")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    again = dead.add_parser("redrive", help="push a dead letter again, with fresh retries")
    again.add_argument("delivery_id", help="the delivery's id")


async def run_dead_letters(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.db.unit_of_work() as session:
        if args.action == "list":
            found = await dead_letters(session, args.agency)
            letters = [letter.model_dump(mode="json") for letter in found]
            instants = ("dead_lettered_at",)
            show_rows(letters, DEAD_LETTER_COLUMNS, as_json=args.json, instants=instants)
            return
        at = await redrive(session, rt, OPERATOR, None, _delivery_id(args.delivery_id))
        await session.commit()
    print(json.dumps({"delivery_id": args.delivery_id, "state": "pending", "at": at.isoformat()}))


def _delivery_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise InvalidInput(
            "no such delivery", [FieldError(("delivery_id",), "not a delivery id")]
        ) from exc
