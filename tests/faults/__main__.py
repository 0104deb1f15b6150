"""`make faults`: the fault campaign (tests/faults/scenarios.py), one line of figures per
scenario; exit 1 when any invariant failed. `--short` is the version `make test` runs."""

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

from tests.faults.scenarios import SCENARIOS, SHORT, Outcome, Plan, run_scenario

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so that every installation is stopped


def main() -> None:
    signal.signal(signal.SIGTERM, _stopped)
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="a few faults, about two minutes each")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="e.g. R1,R3")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep each installation's logs in this folder")
    args = parser.parse_args()
    plan = SHORT if args.short else Plan()
    plan = Plan(**{**plan.__dict__, "seed": args.seed})
    admin_url = os.environ.get("IMB_TEST_DATABASE_URL", ADMIN_URL)
    with tempfile.TemporaryDirectory(prefix="imb-faults-") as scratch:
        folder = args.keep or Path(scratch)
        outcomes = asyncio.run(_campaign(args.scenarios.split(","), plan, admin_url, folder))
    sys.exit(0 if all(o.figures.held for o in outcomes) else 1)


async def _campaign(names: list[str], plan: Plan, admin_url: str, folder: Path) -> list[Outcome]:
    outcomes = []
    for name in names:
        outcome = await run_scenario(SCENARIOS[name.strip()], plan, admin_url, folder)
        print(outcome.line(), flush=True)
        for note in outcome.notes:
            print(f"  {note}", flush=True)
        for problem in outcome.figures.problems[:20]:
            print(f"  problem: {problem}", flush=True)
        outcomes.append(outcome)
    return outcomes


if __name__ == "__main__":
    main()
