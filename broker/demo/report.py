"""What `imb demo` prints: the credentials, once, and what to open next."""

from dataclasses import dataclass
from typing import Any

from broker.demo.cast import Cast
from broker.demo.events import DemoEvent
from broker.demo.seed import Login, Seeded
from broker.settings import Settings
from broker.users.roles import UserRole

# Where `make run` and a bare `imb serve` listen.
BASE_URL = "http://127.0.0.1:8000"
PAGES = {
    UserRole.IG_LEAD: "/ig/agreements  /ig/overrides",
    UserRole.DUTY: "/duty",
    UserRole.AUDITOR: "/audit",
    UserRole.ADMIN: "every page",
}


@dataclass(frozen=True)
class Outcome:
    events: list[tuple[DemoEvent, dict[str, Any]]]  # each with the sender's view of it
    escalation_reference: str


def report(settings: Settings, cast: Cast, seeded: Seeded, outcome: Outcome) -> str:
    database = settings.resolved_database_url.split("@")[-1]
    sections = [
        [f"imb demo: the {cast.trust.name.split(' Mental')[0]} partnership is in {database}"],
        _agencies(cast, seeded),
        ["Sharing agreements, approved by every party and in force:"]
        + [f"  {title}" for title in seeded.agreements],
        _people(cast),
        _events(outcome),
        _logins(seeded.logins),
        _next(cast, seeded),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections)


def _agencies(cast: Cast, seeded: Seeded) -> list[str]:
    lines = ["Agencies and their machine clients (the secrets are shown this once):"]
    for agency in cast.agencies:
        client_id, secret = seeded.clients[agency.code]
        lines += [
            f"  {agency.code:<10} {agency.name}",
            f"  {'':<10} client_id {client_id}  client_secret {secret}",
        ]
    return lines


def _people(cast: Cast) -> list[str]:
    first, second = cast.people
    return [
        "People cared for (NHS test numbers, 999 range):",
        f"  {first}  care team of all four, coordinated by the trust; a crisis plan; "
        "refused that housing hear of risk changes",
        f"  {second}  care team of the trust, the council and the GP",
    ]


def _events(outcome: Outcome) -> list[str]:
    lines = ["Events, routed through Kafka and delivered (or withheld) per recipient:"]
    for event, status in outcome.events:
        lines.append(f"  {status['type']:<22} from {event.sender.code:<10} {event.headline}")
        lines.append(f"  {'':<22}   message {status['message_id']}")
        lines += [f"  {'':<22}   {_recipient(r)}" for r in status["recipients"]]
    lines.append(f"  escalation {outcome.escalation_reference} is open for the council's duty team")
    return lines


def _recipient(view: dict[str, Any]) -> str:
    if view["decision"] == "deny":
        return f"{view['agency']}: withheld ({view['reason']})"
    by_override = " by override, awaiting IG review" if view["override"] else ""
    return f"{view['agency']}: {view['status']}{by_override}"


def _logins(logins: list[Login]) -> list[str]:
    lines = [f"Log-ins for the pages at {BASE_URL}/login (the passwords are shown this once):"]
    lines += [
        f"  {login.username:<18} {login.role.value:<8} {login.agency:<10} "
        f"password {login.password}  ({PAGES[login.role]})"
        for login in logins
    ]
    return lines


def _next(cast: Cast, seeded: Seeded) -> list[str]:
    client_id, secret = seeded.clients[cast.trust.code]
    return [
        "Next: start the broker with `make run` (or `imb serve`), then open",
        f"  {BASE_URL}/login  as duty.{cast.council.code.lower()} to see the escalation on "
        f"/duty, as ig.lead.{cast.housing.code.lower()} to review the override",
        f"  {BASE_URL}/docs   the API; a token for the trust's client:",
        f"  curl -s -u '{client_id}:{secret}' -d grant_type=client_credentials "
        f"{BASE_URL}/oauth/token",
    ]
