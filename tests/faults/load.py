"""The campaign's partnership and its steady mixed load, driven over HTTP as partner systems
drive IMB: the trust publishes all three event types about a pool of people, some of whom
have refused sharing with housing (withheld, or sent by a safeguarding override); the council
reads its inbox and acknowledges most deliveries; housing is pushed to by webhook.

An event that is not answered 202 (the API killed, the database cut) is sent again with the
same id until it is: the id is its idempotency key, so a retry is never a second event.
"""

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.faults.cluster import Cluster
from tests.world import (
    CARE_TEAM,
    COUNCIL,
    GP,
    HOUSING,
    SAFEGUARDING_BASIS,
    SAFEGUARDING_OVERRIDE,
    TRUST,
    agreement_body,
    crisis_event,
    nhs_numbers_for_testing,
    risk_event,
)

SCOPES = "events:publish inbox:read inbox:ack consent:manage channels:manage audit:read admin"
# Crises must be delivered within 20 s and acknowledged within 30 s; a crisis the
# council leaves, or one housing's receiver cannot take, is escalated within the scenario.
TIMEFRAMES = {
    "policies": [
        {
            "event_type": "crisis.occurred",
            "urgency": "*",
            "deliver_within": "PT20S",
            "ack_within": "PT30S",
            "escalation": ["duty_team"],
            "escalation_interval": "PT1H",
        },
        {
            "event_type": "*",
            "urgency": "*",
            "deliver_within": "PT1H",
            "ack_within": "P3D",
            "escalation": ["duty_team"],
            "escalation_interval": "PT1H",
        },
    ]
}
RECORDER = {"name": "A. Patel", "role": "care coordinator"}
ACK = {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}


@dataclass
class Partnership:
    tokens: dict[str, str]
    people: list[str]
    refused: set[str]


def set_up(cluster: Cluster, hook_url: str, people: int = 12) -> Partnership:
    """Agencies, an agreement in force, clients, short timeframes, duty teams, care teams,
    refusals, and housing's webhook."""
    agreement = cluster.folder / "agreement.json"
    body = agreement_body([TRUST, COUNCIL, HOUSING], lawful_basis=SAFEGUARDING_BASIS)
    agreement.write_text(json.dumps(body))
    kinds = {TRUST: "nhs_trust", COUNCIL: "local_authority", HOUSING: "housing"}
    kinds[GP] = "gp_practice"
    printed = cluster.run_in_one_process(
        *(
            ["agency", "add", code, "--name", f"Agency {code}", "--kind", kind]
            for code, kind in kinds.items()
        ),
        ["agreement", "add", "--file", str(agreement)],
        *(
            [
                *("agreement", "approve", "$4.id", "--agency", code),
                *("--name", "C. Guardian", "--role", "Caldicott Guardian"),
            ]
            for code in (TRUST, COUNCIL, HOUSING)
        ),
        *(["client", "add", "--agency", code, "--scopes", SCOPES] for code in kinds),
    )
    credentials = [json.loads(out) for out in printed[-len(kinds) :]]
    tokens = {
        code: _token(cluster.base_url, issued["client_id"], issued["client_secret"])
        for code, issued in zip(kinds, credentials, strict=True)
    }
    pool = nhs_numbers_for_testing(people)
    refused = set(pool[: people // 4])
    with httpx.Client(base_url=cluster.base_url, timeout=30) as api:
        _ok(api.put("/v1/timeframes", json=TIMEFRAMES, headers=_auth(tokens[TRUST])))
        for code in (COUNCIL, HOUSING):
            team = {"name": f"Duty {code}", "email": f"duty@{code.lower()}.test"}
            _ok(api.put(f"/v1/agencies/{code}/duty-team", json=team, headers=_auth(tokens[TRUST])))
        for person in pool:
            _ok(
                api.put(
                    f"/v1/subjects/{person}/care-team", json=CARE_TEAM, headers=_auth(tokens[TRUST])
                )
            )
        for person in refused:
            refusal = {
                "state": "refused",
                "scope": {"recipients": [HOUSING]},
                "recorded_by": RECORDER,
            }
            _ok(
                api.post(
                    f"/v1/subjects/{person}/consents", json=refusal, headers=_auth(tokens[TRUST])
                )
            )
        channel = {"kind": "webhook", "url": hook_url}
        answer = _ok(
            api.put(f"/v1/agencies/{HOUSING}/channel", json=channel, headers=_auth(tokens[HOUSING]))
        )
    (cluster.folder / "webhook-secret").write_text(str(answer.json().get("secret", "")))
    return Partnership(tokens, pool, refused)


def _token(base_url: str, client_id: str, secret: str) -> str:
    answer = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    _ok(answer)
    token: str = answer.json()["access_token"]
    return token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ok(answer: httpx.Response) -> httpx.Response:
    if not answer.is_success:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}"
        )
    return answer


@dataclass
class Load:
    """What the load sent and what IMB answered."""

    accepted: dict[str, str] = field(default_factory=dict)  # event id → message id
    refused: int = 0  # answers other than 202 to a first try (each retried)
    unanswered: int = 0  # tries that got no answer at all (each retried)
    acknowledged: set[str] = field(default_factory=set)  # delivery ids the council acked
    # Answers the load's valid events must never get: a refusal for what the event is.
    problems: list[str] = field(default_factory=list)


def next_event(partnership: Partnership, rng: random.Random) -> dict[str, Any]:
    person = rng.choice(partnership.people)
    subject = {"nhs_number": person, "local_id": f"MRN-{rng.randrange(10**6)}"}
    kind = rng.choices(["risk", "disengaged", "crisis"], weights=[5, 3, 2])[0]
    if kind == "crisis":
        event = crisis_event(subject=subject)
    elif kind == "disengaged":
        now = datetime.now(UTC)
        event = risk_event(
            type="engagement.disengaged",
            urgency=rng.choice(["routine", "urgent"]),
            subject=subject,
            payload={
                "last_contact_at": (now - timedelta(days=9)).isoformat(),
                "missed_contacts": rng.randint(1, 5),
                "attempts": [{"at": now.isoformat(), "method": "phone", "outcome": "no answer"}],
                "current_risk_level": "high",
            },
        )
    else:
        event = risk_event(subject=subject, urgency=rng.choice(["routine", "urgent"]))
    if person in partnership.refused and rng.random() < 0.3:
        event.update(purpose="safeguarding", override=SAFEGUARDING_OVERRIDE)
    return {**event, "id": str(uuid.uuid4())}


async def publish_steadily(
    base_url: str,
    partnership: Partnership,
    load: Load,
    stop: asyncio.Event,
    per_second: float,
    seed: int,
) -> None:
    """One event every 1/per_second seconds until stopped; each retried until answered 202."""
    rng = random.Random(seed)
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(
        base_url=base_url, timeout=10, headers=_auth(partnership.tokens[TRUST])
    ) as api:
        while not stop.is_set():
            task = asyncio.create_task(
                _publish_until_accepted(api, next_event(partnership, rng), load, stop)
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / per_second)
        await asyncio.gather(*pending)


async def _publish_until_accepted(
    api: httpx.AsyncClient, event: dict[str, Any], load: Load, stop: asyncio.Event
) -> None:
    first = True
    # Keep trying after the load stops too, within reason: a 503 while the database was cut
    # is answered once it is back, and the event must then be accepted exactly once.
    for _ in range(120):
        try:
            answer = await api.post("/v1/events", json=event)
        except httpx.TransportError:
            load.unanswered += 1
        else:
            if answer.status_code == 202:
                load.accepted[event["id"]] = answer.json()["message_id"]
                return
            if first:
                load.refused += 1
            if answer.status_code < 500 and answer.status_code not in (408, 429):
                # Every event of the load is valid: refused for what it is, it is a fault
                # (a 409 after a 202 that was lost would be an idempotency hole).
                load.problems.append(f"event {event['id']} answered {answer.status_code}")
                return
        first = False
        await asyncio.sleep(0.5)
    load.problems.append(f"event {event['id']} was never answered 202")


async def read_and_acknowledge(
    base_url: str, token: str, load: Load, stop: asyncio.Event, ack_share: float, seed: int
) -> None:
    """The council's record system: fetches each new delivery (its receipt) and acknowledges
    most; the rest it leaves, so that crises among them are escalated."""
    rng = random.Random(seed)
    seen: set[str] = set()
    async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=_auth(token)) as api:
        while not stop.is_set():
            try:
                page = await api.get("/v1/inbox", params={"status": "delivered", "limit": 100})
                items = page.json()["items"] if page.status_code == 200 else []
                for item in items:
                    delivery_id = item["delivery_id"]
                    if delivery_id in seen:
                        continue
                    await api.get(f"/v1/inbox/{delivery_id}")
                    seen.add(delivery_id)
                    if rng.random() < ack_share:
                        acked = await api.post(f"/v1/inbox/{delivery_id}/ack", json=ACK)
                        if acked.status_code in (200, 409):
                            load.acknowledged.add(delivery_id)
            except (httpx.TransportError, ValueError, KeyError):
                pass
            await asyncio.sleep(0.5)


def write_figures(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
