"""`imb agency add | list | show | limits | channel` and
`imb client add | list | show | revoke | rotate-secret`."""

import argparse
import json
from pathlib import Path
from typing import Any

from broker.agencies.channels import rotate_secret, set_channel
from broker.agencies.clients import (
    client_named,
    clients_of,
    register_client,
    revoke_client,
    rotate_client_secret,
)
from broker.agencies.duty_teams import duty_team_of
from broker.agencies.service import agency_named, register_agency, registered_agencies
from broker.audit.log import Actor
from broker.console import show_record, show_rows
from broker.db.models import Agency
from broker.errors import FieldError, InvalidInput, NotFound
from broker.ratelimits.agencies import set_agency_limits
from broker.runtime import Runtime
from schemas.admin import (
    AgencyRegistration,
    ClientAuthMethod,
    ClientRegistration,
    RateLimitsBody,
)
from schemas.channels import ChannelBody, ChannelKind
from schemas.vocabulary import AgencyKind, Scope

OPERATOR = Actor(agency=None, client="imb-cli")
CLIENT_COLUMNS = ("client_id", "agency", "auth_method", "scopes", "created_at", "revoked_at")
CLIENT_INSTANTS = ("created_at", "revoked_at")


def add_agency_commands(commands: Any) -> None:
    agency = commands.add_parser("agency", help="manage agencies").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = agency.add_parser("add", help="register an agency")
    add.add_argument("code", help="ODS-style code, e.g. RX4")
    add.add_argument("--name", required=True, help="the agency's name")
    add.add_argument("--kind", required=True, choices=[k.value for k in AgencyKind])
    listing = agency.add_parser("list", help="every registered agency")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    show = agency.add_parser("show", help="one agency, its live clients and its duty team")
    show.add_argument("code", help="the agency's code")
    show.add_argument("--json", action="store_true", help="one JSON object")
    limits = agency.add_parser(
        "limits",
        help="set the rate limits on each of the agency's clients (omitted: the defaults)",
    )
    limits.add_argument("code", help="the agency's code")
    limits.add_argument("--publish", metavar="RATE", help="publishing events, e.g. 1200/minute")
    limits.add_argument("--read", metavar="RATE", help="every other call, e.g. 6000/minute")
    channel = agency.add_parser(
        "channel",
        help="choose how the agency's deliveries are pushed beside its inbox; a new webhook "
        "prints its signing secret once",
    )
    channel.add_argument("code", help="the agency's code")
    channel.add_argument("--kind", required=True, choices=[k.value for k in ChannelKind])
    channel.add_argument("--url", help="webhook: https:// (http:// only to loopback)")
    channel.add_argument("--public-key", help="kafka: the agency's X25519 public key, base64url")
    channel.add_argument(
        "--format",
        help="webhook and kafka: what each push carries, imb (IMB's JSON, the default) or a "
        "delivery format the broker has, such as fhir",
    )
    channel.add_argument(
        "--rotate-secret",
        action="store_true",
        help="webhook: a new signing secret, printed once; the old one signs too for 24 h",
    )


def add_client_commands(commands: Any) -> None:
    client = commands.add_parser("client", help="manage machine clients").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = client.add_parser(
        "add",
        help="create a client; prints {client_id, client_secret} once (no secret for a "
        "client with a key or a certificate)",
        epilog=_scopes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("--agency", required=True, help="the agency the client acts for")
    add.add_argument(
        "--scopes",
        required=True,
        help="space-separated scopes (listed below)",
    )
    proof = add.add_mutually_exclusive_group()
    proof.add_argument(
        "--jwk", type=Path, metavar="FILE", help="private_key_jwt: its public JWK or JWKS"
    )
    proof.add_argument("--jwks-url", metavar="URL", help="private_key_jwt: where it publishes keys")
    proof.add_argument(
        "--tls-subject", metavar="DN", help="tls_client_auth: its certificate's subject (RFC 4514)"
    )
    listing = client.add_parser("list", help="every client, revoked ones too; never a secret")
    listing.add_argument("--agency", help="only this agency's")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    show = client.add_parser("show", help="one client; never a secret")
    show.add_argument("client_id")
    show.add_argument("--json", action="store_true", help="one JSON object")
    revoke = client.add_parser("revoke", help="revoke a client; its tokens stop working in 1 s")
    revoke.add_argument("client_id")
    rotate = client.add_parser(
        "rotate-secret", help="a new secret, printed once; the old one and its tokens stop"
    )
    rotate.add_argument("client_id")


async def add_agency(rt: Runtime, body: AgencyRegistration) -> None:
    async with rt.db.unit_of_work() as session:
        await register_agency(session, rt, OPERATOR, body)
        await session.commit()
    print(json.dumps(body.model_dump(mode="json")))


def _scopes_epilog() -> str:
    width = max(len(scope.value) for scope in Scope)
    return "scopes:\n" + "".join(f"  {scope.value:<{width}}  {scope.allows}\n" for scope in Scope)


async def run_agency_reading(rt: Runtime, args: argparse.Namespace) -> None:
    """`imb agency list` and `imb agency show CODE`."""
    async with rt.db.unit_of_work() as session:
        if args.action == "list":
            agencies = [_agency_shown(a) for a in await registered_agencies(session)]
            columns = ("code", "name", "kind", "created_at")
            show_rows(agencies, columns, as_json=args.json, instants=("created_at",))
            return
        shown = _agency_shown(await agency_named(session, args.code))
        clients = await clients_of(session, args.code)
        try:
            team = await duty_team_of(session, args.code)
            duty_team: dict[str, str] | None = {"name": team.name, "email": team.email}
        except NotFound:
            duty_team = None
    live = [c.client_id for c in clients if c.revoked_at is None]
    record = {**shown, "clients": live, "duty_team": duty_team}
    show_record(record, as_json=args.json, instants=("created_at",))


def _agency_shown(agency: Agency) -> dict[str, str]:
    return {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind,
        "created_at": agency.created_at.isoformat(),
    }


async def run_client(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.db.unit_of_work() as session:
        if args.action == "add":
            issued = await register_client(session, rt, OPERATOR, client_registration(args))
            shown: dict[str, Any] = {"client_id": issued.client_id}
            if issued.client_secret:
                shown["client_secret"] = issued.client_secret
        elif args.action == "list":
            views = await clients_of(session, args.agency)
            shown_all = [view.model_dump(mode="json") for view in views]
            show_rows(shown_all, CLIENT_COLUMNS, as_json=args.json, instants=CLIENT_INSTANTS)
            return
        elif args.action == "show":
            view = await client_named(session, args.client_id)
            record = view.model_dump(mode="json")
            show_record(record, as_json=args.json, instants=CLIENT_INSTANTS)
            return
        elif args.action == "revoke":
            shown = (await revoke_client(session, rt, OPERATOR, args.client_id)).model_dump(
                mode="json"
            )
        else:
            issued = await rotate_client_secret(session, rt, OPERATOR, args.client_id)
            shown = {"client_id": issued.client_id, "client_secret": issued.client_secret}
        await session.commit()
    print(json.dumps(shown))


def client_registration(args: argparse.Namespace) -> ClientRegistration:
    body: dict[str, Any] = {"agency": args.agency, "scopes": args.scopes.split()}
    if args.jwk is not None:
        body |= {"auth_method": ClientAuthMethod.PRIVATE_KEY_JWT, "jwks": _key_set(args.jwk)}
    elif args.jwks_url is not None:
        body |= {"auth_method": ClientAuthMethod.PRIVATE_KEY_JWT, "jwks_uri": args.jwks_url}
    elif args.tls_subject is not None:
        body |= {
            "auth_method": ClientAuthMethod.TLS_CLIENT_AUTH,
            "tls_client_auth_subject_dn": args.tls_subject,
        }
    return ClientRegistration.model_validate(body)


def _key_set(path: Path) -> dict[str, Any]:
    """A JWK file holds one key or a set; either way the client registers a set."""
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not JSON", [FieldError(("jwk",), str(exc))]) from None
    if isinstance(document, dict) and "keys" in document:
        return document
    return {"keys": [document]}


def channel_body(args: argparse.Namespace) -> ChannelBody:
    return ChannelBody(kind=args.kind, url=args.url, public_key=args.public_key, format=args.format)


async def set_agency_channel(rt: Runtime, args: argparse.Namespace, body: ChannelBody) -> None:
    async with rt.db.unit_of_work() as session:
        view = await set_channel(session, rt, OPERATOR, args.code, body)
        if args.rotate_secret and view.secret is None:
            view = await rotate_secret(session, rt, OPERATOR, args.code)
        await session.commit()
    print(view.model_dump_json())


async def set_limits(rt: Runtime, code: str, body: RateLimitsBody) -> None:
    async with rt.db.unit_of_work() as session:
        view = await set_agency_limits(session, rt.agency_limits, OPERATOR, rt.clock(), code, body)
        await session.commit()
    print(view.model_dump_json())
