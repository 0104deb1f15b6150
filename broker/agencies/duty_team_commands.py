"""`imb duty-team set | show`: where an agency's escalations go, as `PUT` and `GET
/v1/agencies/{code}/duty-team` set and read it."""

import argparse
from typing import Any

from broker.addresses import origin_of
from broker.agencies.duty_teams import duty_team_of, set_duty_team
from broker.agencies.service import agency_named
from broker.audit.log import Actor
from broker.console import show_record
from broker.runtime import Runtime
from schemas.escalations import DutyTeamBody, DutyTeamView

OPERATOR = Actor(agency=None, client="imb-cli")


def add_duty_team_commands(commands: Any) -> None:
    duty = commands.add_parser(
        "duty-team", help="where each agency's escalations are sent"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    put = duty.add_parser("set", help="replace the agency's duty team")
    put.add_argument("code", help="the agency's code")
    put.add_argument("--name", required=True, help="the team's name")
    put.add_argument("--email", required=True, help="its shared mailbox for escalation notices")
    put.add_argument("--webhook-url", metavar="URL", help="optional: also POSTed a notice")
    show = duty.add_parser("show", help="the agency's duty team")
    show.add_argument("code", help="the agency's code")
    show.add_argument("--json", action="store_true", help="one JSON object")


def duty_team_body(args: argparse.Namespace) -> DutyTeamBody:
    body = {"name": args.name, "email": args.email, "webhook_url": args.webhook_url}
    return DutyTeamBody.model_validate(body)


async def run_duty_team(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.db.unit_of_work() as session:
        if args.action == "set":
            view = await set_duty_team(session, rt, OPERATOR, args.code, duty_team_body(args))
            await session.commit()
            show_record(_shown(view), as_json=True)
            return
        await agency_named(session, args.code)  # an unknown agency is named as such
        shown = _shown(await duty_team_of(session, args.code))
        show_record(shown, as_json=args.json, instants=("updated_at",))


def _shown(view: DutyTeamView) -> dict[str, Any]:
    # Only the webhook's origin: its path or query often carries the receiver's token, and a
    # terminal's scroll-back or a job's log is no place for it.
    return {
        "agency": view.agency,
        "name": view.name,
        "email": view.email,
        "webhook": origin_of(view.webhook_url) if view.webhook_url else None,
        "updated_at": view.updated_at.isoformat(),
    }
