"""`imb user add | list | disable | enable | unlock`: people who sign in to the web pages."""

import argparse
import json
from typing import Any

from broker.audit.log import Actor
from broker.console import show_rows
from broker.runtime import Runtime
from broker.users.repository import users_of
from broker.users.roles import UserRole
from broker.users.service import create_user, disable_user, enable_user, unlock_user

OPERATOR = Actor(agency=None, client="imb-cli")
USER_COLUMNS = ("username", "agency", "role", "created_at", "disabled_at")


def add_user_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="manage people who sign in to the web pages")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="create a person's log-in; the password is read from standard input or prompted",
    )
    add.add_argument("username", help="lower-case letters, digits and . _ @ -")
    add.add_argument("--agency", required=True, help="the agency the person works for")
    # Not `choices`: a bad role is a one-line error like every other bad input.
    add.add_argument("--role", required=True, metavar="|".join(UserRole), help="what they do")
    listing = actions.add_parser("list", help="every person's log-in")
    listing.add_argument("--agency", help="only this agency's")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    disable = actions.add_parser(
        "disable", help="no more sign-ins, and the person's open sessions end at once"
    )
    disable.add_argument("username")
    enable = actions.add_parser("enable", help="allow a disabled person to sign in again")
    enable.add_argument("username")
    unlock = actions.add_parser(
        "unlock", help="lift a lockout after failed sign-ins, and forget the failures"
    )
    unlock.add_argument("username")


async def add_user(rt: Runtime, args: argparse.Namespace, password: str) -> None:
    async with rt.db.unit_of_work() as session:
        user = await create_user(
            session,
            rt,
            OPERATOR,
            username=args.username,
            agency=args.agency,
            role=args.role,
            password=password,
        )
        await session.commit()
    shown = {"id": str(user.id), "username": user.username, "agency": user.agency_code}
    print(json.dumps({**shown, "role": user.role}))


async def run_user(rt: Runtime, args: argparse.Namespace) -> None:
    """Every action but `add`, which needs a password first."""
    async with rt.db.unit_of_work() as session:
        if args.action == "list":
            people = [_shown(user) for user in await users_of(session, args.agency)]
            instants = ("created_at", "disabled_at")
            show_rows(people, USER_COLUMNS, as_json=args.json, instants=instants)
            return
        change = {"disable": disable_user, "enable": enable_user, "unlock": unlock_user}[
            args.action
        ]
        user = await change(session, rt, OPERATOR, args.username)
        await session.commit()
    print(json.dumps(_shown(user)))


def _shown(user: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "agency": user.agency_code,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }
