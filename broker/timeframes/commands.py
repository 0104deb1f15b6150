"""`imb timeframes show | set --file FILE`: the deadline policy, as `GET` and `PUT
/v1/timeframes` read and replace it (docs/timeframes.md)."""

import argparse
import json
from pathlib import Path
from typing import Any

from broker.audit.log import Actor
from broker.console import show_rows
from broker.errors import InvalidInput
from broker.runtime import Runtime
from broker.timeframes.service import replace_timeframes, timeframes_view
from schemas.timeframes import TimeframesBody

OPERATOR = Actor(agency=None, client="imb-cli")
COLUMNS = (
    "event_type",
    "urgency",
    "risk_level",
    "deliver_within",
    "ack_within",
    "escalation",
    "escalation_interval",
)
DURATIONS = ("deliver_within", "ack_within", "escalation_interval")


def add_timeframe_commands(commands: Any) -> None:
    timeframes = commands.add_parser(
        "timeframes", help="the deadline policy: deliver and acknowledge within, escalation"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    show = timeframes.add_parser("show", help="every policy row, the most specific first")
    show.add_argument("--json", action="store_true", help="the whole policy as one JSON object")
    put = timeframes.add_parser(
        "set", help="replace the whole policy; deliveries already routed keep their deadlines"
    )
    put.add_argument("--file", required=True, type=Path, help="policy JSON (as PUT body)")


def read_timeframes(path: Path) -> TimeframesBody:
    try:
        return TimeframesBody.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


async def run_timeframes(
    rt: Runtime, args: argparse.Namespace, body: TimeframesBody | None
) -> None:
    async with rt.db.unit_of_work() as session:
        if body is not None:
            view = await replace_timeframes(session, rt, OPERATOR, body)
            await session.commit()
            print(json.dumps(view))
            return
        view = await timeframes_view(session)
    if args.json:
        print(json.dumps(view))
    else:
        show_rows(view["policies"], COLUMNS, as_json=False, durations=DURATIONS)
