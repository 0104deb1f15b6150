"""Where an event's time goes: P1 (single POSTs or batches) with py-spy sampling `imb serve`,
summed by the pipeline's hops.

    python -m bench.profile [--batch] [--events N]

Each sample is charged to the first hop found on its stack, innermost first, so the shares
add up; `other` is the rest (the event loop, HTTP, logging). It also writes the raw samples
(`bench-profile.txt`, py-spy's collapsed format) for a flame graph.
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.estate import fresh_database, set_up
from bench.throughput import through_the_api
from broker.kafka.embedded import EmbeddedKafka

# (hop, a function on the stack doing that hop's work). A sample is charged to the innermost
# frame that names a hop. SQLAlchemy runs its statements in greenlets whose stacks start at the
# session: those samples are the database layer's, whichever hop asked.
HOPS = [
    ("route: consent decisions", "decide"),
    ("route: minimising and sealing each delivery", "_create_delivery"),
    ("route: the rest", "route_messages"),
    ("dispatch", "make_available"),
    ("relay", "OutboxRelay.publish_batch"),
    ("consume: Kafka fetch", "AIOKafkaConsumer.getmany"),
    ("accept: token, client standing and scope", "authenticate"),
    ("accept: rate limit", "Limiter.charge"),
    ("accept: writing the event", "submit_events"),
    (
        "accept: HTTP, routing and validation (uvicorn, FastAPI, pydantic)",
        "RequestResponseCycle.run_asgi",
    ),
    ("audit chain", "chain_pending"),
    ("database layer (SQLAlchemy, asyncpg)", "Session.execute"),
    ("database layer (SQLAlchemy, asyncpg)", "Session.commit"),
    ("database layer (SQLAlchemy, asyncpg)", "Session.flush"),
    ("database layer (SQLAlchemy, asyncpg)", "AsyncAdapt_asyncpg_cursor._prepare_and_execute"),
    ("socket writes (the kernel)", "_SelectorSocketTransport.write"),
    ("socket reads", "_SelectorSocketTransport._read_ready"),
    ("JSON encoding", "JSONEncoder.encode"),
]


def hop_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for hop, marker in HOPS:
            if frame.startswith(f"{marker} "):
                return hop
    return "other"


def summarise(raw: Path) -> list[tuple[str, float]]:
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            counts[hop_of(stack)] += int(count)
    total = sum(counts.values()) or 1
    return [(hop, round(100 * n / total, 1)) for hop, n in counts.most_common()]


def profiled_run(args: argparse.Namespace) -> dict[str, Any]:
    samplers: list[subprocess.Popen[bytes]] = []

    def sample(pid: int) -> None:
        py_spy = Path(sys.executable).with_name("py-spy")  # installed with the bench extra
        command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw"]
        command += ["--rate", "200", "--nonblocking", "-o", str(args.out)]
        samplers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))

    batch, concurrency = (500, 4) if args.batch else (None, 64)
    with (
        tempfile.TemporaryDirectory() as folder,
        EmbeddedKafka() as kafka,
        fresh_database(args.database, Path(folder), args.admin_url) as url,
    ):
        estate = set_up(Path(folder), url, kafka.bootstrap_servers)
        run = through_the_api(estate, args.events, concurrency, batch, on_serving=sample)
        figures = asyncio.run(run)
        for sampler in samplers:  # it stops when the serve process does
            sampler.wait(timeout=60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--batch", action="store_true", help="batches of 500, not single POSTs")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--out", type=Path, default=Path("bench-profile.txt"))
    args = parser.parse_args()
    figures = profiled_run(args)
    print(
        f"{figures['via']}: {figures['accepted_per_s']} accepted/s, "
        f"{figures['routed_per_s']} routed/s, {figures['imb_cpu_ms_per_event']} ms CPU/event"
    )
    for hop, share in summarise(args.out):
        print(f"{share:5.1f} %  {hop}")


if __name__ == "__main__":
    main()
