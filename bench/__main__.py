"""`python -m bench` (`make bench`): IMB's benchmarks in one run, side by side with their
references, on this machine.

    P1  events accepted and routed through single POSTs and through batches; bare aiokafka on
        the same Kafka-protocol broker, and the ratio
    P2  a crisis's publish→inbox latency under steady routine background; a crisis overtaking
        a 20,000-event backlog
    P4  the full cycle (publish → list → fetch → acknowledge) against the NHS MESH sandbox
        driven by NHS England's mesh-client, same count, same threads, ~1 KiB bodies
    P5  routing with one router process, then two
    P6  deliveries pushed to a webhook receiver and read by a waiting inbox reader, same run:
        publish→received latency at a steady rate, and deliveries/s flat out

It prints each result as it comes, writes them all to a JSON file and rewrites the results
table in docs/performance.md. These are measurements, not tests: nothing here passes or fails.
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import latency, mesh, push, scale_out, throughput
from bench.report import update_performance_doc
from broker.kafka.embedded import EmbeddedKafka

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PARTS = ("p1", "p2", "p4", "p5", "p6")


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
        "processor": platform.processor() or platform.machine(),
    }


def _parts(args: argparse.Namespace, kafka: str, folder: Path) -> dict[str, Callable[[], Any]]:
    common = (kafka, folder, args.database, args.admin_url)
    return {
        "p1": lambda: throughput.measure(*common, args.events, args.batch_events),
        "p2": lambda: latency.measure(*common, args.seconds, args.backlog, args.rate),
        "p4": lambda: mesh.measure(*common, args.cycles, args.threads),
        "p5": lambda: scale_out.measure(*common, args.routing_events),
        "p6": lambda: push.measure(*common, args.push_events, args.push_rate),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": args.database,
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory() as folder, EmbeddedKafka() as kafka:
        parts = _parts(args, kafka.bootstrap_servers, Path(folder))
        for name in args.only:
            began = time.monotonic()
            try:
                results[name] = parts[name]()
            except Exception as exc:  # the other parts still run; the failure is reported
                results[name] = {"failed": f"{type(exc).__name__}: {exc}"}
            results[name]["took_s"] = round(time.monotonic() - began, 1)
            print(name, json.dumps(results[name], indent=2), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="PostgreSQL to use")
    parser.add_argument("--events", type=int, default=3000, help="P1 single POSTs")
    parser.add_argument("--batch-events", type=int, default=10_000, help="P1 batched")
    parser.add_argument("--seconds", type=float, default=30.0, help="P2 background duration")
    parser.add_argument("--rate", type=float, default=200.0, help="P2 routine events/s")
    parser.add_argument("--backlog", type=int, default=20_000, help="P2 routine backlog")
    parser.add_argument("--cycles", type=int, default=2000, help="P4 messages per system")
    parser.add_argument("--threads", type=int, default=8, help="P4 threads per system")
    parser.add_argument("--routing-events", type=int, default=6000, help="P5 events")
    parser.add_argument("--push-events", type=int, default=1500, help="P6 events per run")
    parser.add_argument("--push-rate", type=float, default=50.0, help="P6 steady events/s")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md")
    args = parser.parse_args()
    results = run(args)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", file=sys.stderr)
    complete = all("failed" not in results[part] for part in PARTS if part in results)
    if not args.no_docs and set(args.only) == set(PARTS) and complete:
        update_performance_doc(Path("docs/performance.md"), results)


if __name__ == "__main__":
    main()
