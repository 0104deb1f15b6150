"""The campaign's scenarios, each on an installation of its own under a steady mixed load:

R1  SIGKILL a random IMB process at a random moment, again and again, each restarted
    after a random pause
R2  the Kafka-protocol broker killed and restarted empty mid-load, twice
R3  PostgreSQL unreachable mid-load: the API answers 503 with Retry-After meanwhile
R4  housing's webhook receiver down while deadlines run, pushes dead-lettered where their
    budget ends and redriven once it is back
R5  the deadline monitor frozen while crises breach, then thawed beside a second one
    started late (its clock has jumped forward): each deadline escalated once
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from broker.db.models import Delivery, Message, WebhookPush
from tests.faults.cluster import ROLES, Cluster
from tests.faults.invariants import Figures, check
from tests.faults.load import (
    Load,
    Partnership,
    publish_steadily,
    read_and_acknowledge,
    set_up,
)
from tests.faults.proxy import CuttableProxy
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, HOUSING, TRUST


@dataclass(frozen=True)
class Plan:
    """How hard a run pushes: seconds of load, events a second, and each fault's size."""

    load_seconds: float = 120.0
    events_per_second: float = 4.0
    kills: int = 20
    db_outage_seconds: float = 30.0
    receiver_outage_seconds: float = 90.0
    monitor_frozen_seconds: float = 45.0
    seed: int = 1


SHORT = Plan(
    load_seconds=35.0,
    events_per_second=3.0,
    kills=3,
    db_outage_seconds=8.0,
    receiver_outage_seconds=20.0,
    monitor_frozen_seconds=20.0,
)


@dataclass
class Run:
    cluster: Cluster
    partnership: Partnership
    hook: CuttableProxy
    plan: Plan
    rng: random.Random
    faults: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


Inject = Callable[[Run], Awaitable[None]]


async def kill_at_random(run: Run, roles: tuple[str, ...] = ("api", *ROLES)) -> None:
    spacing = run.plan.load_seconds / (run.plan.kills + 1)
    for _ in range(run.plan.kills):
        await asyncio.sleep(run.rng.uniform(0.3, 1.7) * spacing * 0.8)
        role = run.rng.choice(roles)
        run.cluster.kill(role)
        run.faults += 1
        await asyncio.sleep(run.rng.uniform(0.2, 3.0))
        run.cluster.start(role)
        if role == "api":
            await asyncio.to_thread(run.cluster.wait_ready)


async def wipe_kafka_twice(run: Run) -> None:
    for _ in range(2):
        await asyncio.sleep(run.plan.load_seconds / 3)
        run.cluster.kafka.kill()
        run.faults += 1
        await asyncio.sleep(2)
        await asyncio.to_thread(run.cluster.kafka.start)


async def cut_the_database(run: Run) -> None:
    await asyncio.sleep(run.plan.load_seconds / 3)
    run.cluster.db_proxy.cut()
    run.faults += 1
    began, last_answered = time.monotonic(), time.time()
    statuses: set[int] = set()
    unanswered = 0
    async with httpx.AsyncClient(base_url=run.cluster.base_url, timeout=10) as api:
        token = {"Authorization": f"Bearer {run.partnership.tokens[TRUST]}"}
        while time.monotonic() - began < run.plan.db_outage_seconds:
            await asyncio.sleep(1)
            try:
                ready = await api.get("/readyz")
                probe = await api.get(f"/v1/agencies/{TRUST}/duty-team", headers=token)
            except httpx.TransportError as exc:
                # No answer to judge when the campaign killed the API since it last answered
                # (and, started again while the database is cut, it cannot start). Otherwise
                # it went deaf, or died, because its database did, which it must not.
                unanswered += 1
                if run.cluster.killed_at.get("api", 0.0) < last_answered:
                    run.problems.append(
                        f"a probe during the outage got no answer: {type(exc).__name__}"
                    )
                continue
            last_answered = time.time()
            statuses.add(ready.status_code)
            statuses.add(probe.status_code)
            if probe.status_code == 503 and "retry-after" not in probe.headers:
                run.problems.append("a 503 during the outage had no Retry-After")
            if probe.status_code == 503 and not probe.headers.get("content-type", "").startswith(
                "application/problem+json"
            ):
                run.problems.append("a 503 during the outage was not problem details")
    run.cluster.db_proxy.restore()
    run.notes.append(f"answers during the outage: {sorted(statuses)}, unanswered {unanswered}")
    if statuses - {503}:
        run.problems.append(f"while the database was cut the API answered {sorted(statuses)}")
    if 503 not in statuses:
        run.problems.append("no probe was answered while the database was cut")


async def take_the_receiver_down(run: Run) -> None:
    await asyncio.sleep(run.plan.load_seconds / 4)
    run.hook.cut()
    run.faults += 1
    await asyncio.sleep(run.plan.receiver_outage_seconds)
    run.hook.restore()
    await asyncio.sleep(5)
    redriven = await _redrive_dead_letters(run)
    run.notes.append(f"dead letters redriven: {redriven}")


async def _redrive_dead_letters(run: Run) -> int:
    """What housing's operator does once its receiver is back: every dead letter redriven, a
    page (the newest 200) at a time until none is left."""
    token = {"Authorization": f"Bearer {run.partnership.tokens[HOUSING]}"}
    redriven = 0
    async with httpx.AsyncClient(base_url=run.cluster.base_url, timeout=30) as api:
        for _ in range(50):
            listed = await api.get("/v1/dead-letters", headers=token)
            if listed.status_code != 200:
                run.problems.append(f"listing dead letters answered {listed.status_code}")
                return redriven
            items = listed.json()["items"]
            if not items:
                break
            for item in items:
                path = f"/v1/dead-letters/{item['delivery_id']}/redrive"
                answer = await api.post(path, headers=token)
                if not answer.is_success:
                    run.problems.append(f"redriving {item['delivery_id']}: {answer.status_code}")
            redriven += len(items)
    if not redriven:
        run.problems.append("the receiver was down past the push budget: no dead letter")
    return redriven


async def freeze_the_deadline_monitor(run: Run) -> None:
    await asyncio.sleep(run.plan.load_seconds / 4)
    run.cluster.pause("deadlines")
    run.faults += 1
    await asyncio.sleep(run.plan.monitor_frozen_seconds)
    run.cluster.start("deadlines-late", "deadlines")
    run.cluster.resume("deadlines")


async def kill_the_api_mid_outage(run: Run) -> None:
    """The API killed while the database is cut (after the first probes have had their 503s),
    and started again at once: it cannot check its schema, so it exits until its supervisor
    (here, the campaign) finds the database back."""
    # Halfway between the second probe and the third (one a second), not during one.
    await asyncio.sleep(run.plan.load_seconds / 3 + run.plan.db_outage_seconds * 5 / 16)
    run.cluster.kill("api")
    run.faults += 1
    run.cluster.start("api")
    await asyncio.to_thread(run.cluster.wait_ready)


async def kills_and_an_outage(run: Run) -> None:
    """The version `make test` runs: a few kills of workers and a short database outage at
    once, and the API killed mid-outage. (Only that kill touches the API, so that the outage's
    first probes are always answered and judged.)"""
    await asyncio.gather(
        kill_at_random(run, ROLES), cut_the_database(run), kill_the_api_mid_outage(run)
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    inject: Inject
    # Settings for this scenario's IMB processes (a push budget small enough to run out).
    settings: tuple[tuple[str, str], ...] = ()


SCENARIOS = {
    "R1": Scenario("R1", "processes SIGKILLed at random", kill_at_random),
    "R2": Scenario("R2", "Kafka broker restarted empty, twice", wipe_kafka_twice),
    "R3": Scenario("R3", "PostgreSQL unreachable", cut_the_database),
    "R4": Scenario(
        "R4",
        "webhook receiver down",
        take_the_receiver_down,
        (("IMB_DELIVERY__MAX_ATTEMPTS", "6"),),
    ),
    "R5": Scenario(
        "R5", "deadline monitor frozen, a second started late", freeze_the_deadline_monitor
    ),
}
# Not part of the campaign: the short run beside the suite (tests/faults/test_short_campaign.py).
KILLS_AND_AN_OUTAGE = Scenario("R1+R3", "kills and a database outage", kills_and_an_outage)


@dataclass
class Outcome:
    scenario: Scenario
    faults: int
    figures: Figures
    notes: list[str]
    seconds: float
    # (role, exit status) of each process that ended by itself and was started again.
    exited_by_themselves: list[tuple[str, int]] = field(default_factory=list)

    def line(self) -> str:
        f = self.figures
        verdict = "held" if f.held else f"FAILED ({len(f.problems)} problems)"
        return (
            f"{self.scenario.name} {self.scenario.what}: faults {self.faults}, "
            f"accepted {f.accepted}, deliveries expected {f.expected}, delivered {f.delivered}, "
            f"withheld {f.withheld}, duplicated {f.duplicated}, lost {f.lost}, "
            f"escalations expected {f.escalations_expected} raised {f.escalations_raised}, "
            f"audit chain {'verified' if f.chain_verified else 'NOT verified'}, "
            f"{self.seconds:.0f} s: {verdict}"
        )


async def run_scenario(scenario: Scenario, plan: Plan, admin_url: str, folder: Path) -> Outcome:
    began = time.monotonic()
    cluster = await asyncio.to_thread(Cluster, folder / scenario.name, admin_url)
    cluster.env.update(dict(scenario.settings))
    receiver = Receiver()
    try:
        async with receiving(receiver, "/hook") as serving:
            port = int(serving.url.split(":")[2].split("/")[0])
            hook = CuttableProxy("127.0.0.1", port).start()
            try:
                return await _under_load(scenario, plan, cluster, receiver, hook, began)
            finally:
                hook.close()
    finally:
        await asyncio.to_thread(cluster.stop)


async def _under_load(
    scenario: Scenario,
    plan: Plan,
    cluster: Cluster,
    receiver: Receiver,
    hook: CuttableProxy,
    began: float,
) -> Outcome:
    await asyncio.to_thread(cluster.start_all)
    partnership = await asyncio.to_thread(set_up, cluster, f"http://127.0.0.1:{hook.port}/hook")
    run = Run(cluster, partnership, hook, plan, random.Random(plan.seed))
    load, stop = Load(), asyncio.Event()
    publishing = asyncio.create_task(
        publish_steadily(
            cluster.base_url, partnership, load, stop, plan.events_per_second, plan.seed
        )
    )
    reading = asyncio.create_task(
        read_and_acknowledge(
            cluster.base_url, partnership.tokens[COUNCIL], load, stop, 0.7, plan.seed
        )
    )
    injecting = asyncio.create_task(scenario.inject(run))
    supervising = asyncio.create_task(_supervise(cluster))
    await asyncio.sleep(plan.load_seconds)
    await injecting
    stop.set()
    await asyncio.gather(publishing, reading)
    faults_ended = time.time()
    if not await _settled(cluster):
        run.problems.append("work was still unrouted, pending or being pushed after 3 minutes")
    if supervising.done():
        run.problems.append(f"the supervisor stopped: {supervising.exception()!r}")
    supervising.cancel()
    await asyncio.gather(supervising, return_exceptions=True)
    _judge_the_exits(run, faults_ended)
    figures = await check(cluster, load, partnership.tokens[COUNCIL], receiver, faults_ended)
    figures.problems.extend(run.problems)
    exits = [(role, code) for role, code, _ in cluster.exited_by_themselves]
    return Outcome(scenario, run.faults, figures, run.notes, time.monotonic() - began, exits)


async def _supervise(cluster: Cluster) -> None:
    while True:
        await asyncio.sleep(1)
        cluster.restart_the_exited()


def _judge_the_exits(run: Run, faults_ended: float) -> None:
    """An exit while a fault is on is the process doing its part (its supervisor starts it
    again); one after the faults ended is a crash with nothing to excuse it."""
    exits = run.cluster.exited_by_themselves
    if exits:
        run.notes.append(
            "exited by themselves and restarted: "
            + ", ".join(f"{role} (status {code})" for role, code, _ in exits)
        )
    for role, code, when in exits:
        # An exit is noticed within a second or so of happening.
        if when > faults_ended + 2:
            run.problems.append(f"{role} exited with {code} after the faults ended")


async def _settled(cluster: Cluster, within: float = 180.0) -> bool:
    """Until every stored event is routed, every delivery decided and every push answered,
    and the load's last crisis deadlines (delivery 20 s, acknowledgement 30 s) have passed
    with the monitor's slack; False if that never came."""
    engine = create_async_engine(cluster.database.url)
    deadline = time.monotonic() + within
    quiet_from = time.monotonic() + 60
    unfinished = [
        select(func.count()).select_from(Message).where(Message.status == "accepted"),
        select(func.count()).select_from(Delivery).where(Delivery.status == "pending"),
        select(func.count()).select_from(WebhookPush).where(WebhookPush.state == "pending"),
    ]
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as db:
                left = [(await db.execute(query)).scalar_one() for query in unfinished]
            if not any(left) and time.monotonic() >= quiet_from:
                return True
            await asyncio.sleep(1)
        return False
    finally:
        await engine.dispose()
