"""`imb dead-letters list | redrive`: an operator's view of webhook pushes that ran out of
retries, and pushing one again."""

import argparse
import json
import uuid
from typing import Any

from broker.agencies.commands import OPERATOR
from broker.deliveries.dead_letters import dead_letters, redrive
from broker.errors import FieldError, InvalidInput
from broker.runtime import Runtime


def add_dead_letter_commands(commands: Any) -> None:
    dead = commands.add_parser(
        "dead-letters", help="webhook pushes that ran out of retries"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = dead.add_parser("list", help="one JSON line per dead letter, newest first")
    listing.add_argument("--agency", help="only this agency's")
    again = dead.add_parser("redrive", help="push a dead letter again, with fresh retries")
    again.add_argument("delivery_id", help="the delivery's id")


async def run_dead_letters(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.db.unit_of_work() as session:
        if args.action == "list":
            for letter in await dead_letters(session, args.agency):
                print(letter.model_dump_json())
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
