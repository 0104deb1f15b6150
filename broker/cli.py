"""The `imb` command line."""

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from broker.agencies.service import register_agency, register_client
from broker.agreements.service import approve_agreement, create_agreement
from broker.audit.commands import add_audit_commands, run_audit
from broker.audit.log import Actor
from broker.crypto import CryptoError
from broker.db.migrate import upgrade_to_head
from broker.errors import BrokerError, NotFound
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.users.roles import UserRole
from broker.users.service import create_user
from schemas.admin import AgencyRegistration, ClientRegistration
from schemas.agreements import AgreementApproval, AgreementBody
from schemas.vocabulary import AgencyKind

OPERATOR = Actor(agency=None, client="imb-cli")
WORKERS = ["relay", "router", "dispatcher", "deadlines", "notifier", "chainer"]
EPILOG = """environment:
  IMB_DATA_DIR                  keys, SQLite database and logs (default ./imb-data)
  IMB_DATABASE_URL              SQLAlchemy async URL (default SQLite under IMB_DATA_DIR)
  IMB_KAFKA_BOOTSTRAP_SERVERS   Kafka bootstrap servers (default: an embedded broker)
  IMB_PUBLIC_BASE_URL           where people reach the pages, for links in e-mails
  IMB_SMTP__HOST, __PORT, __SECURITY, __USERNAME, __PASSWORD, __FROM_ADDRESS
                                escalation e-mail to duty teams (none without a host)
"""


class CliError(Exception):
    """A one-line message for the operator; the command exits non-zero."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imb",
        description="IMB, the Interagency Messaging Broker.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the API and all workers in one process")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="the API alone, where `imb worker` processes run the pipeline",
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    worker = commands.add_parser(
        "worker",
        help="run one worker alone (relay, router and dispatcher need external Kafka; "
        "the others only the database)",
    )
    worker.add_argument("name", choices=WORKERS)
    _agency_commands(commands)
    _client_commands(commands)
    _agreement_commands(commands)
    _user_commands(commands)
    add_audit_commands(commands)
    return parser


def _agency_commands(commands: Any) -> None:
    agency = commands.add_parser("agency", help="manage agencies").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = agency.add_parser("add", help="register an agency")
    add.add_argument("code", help="ODS-style code, e.g. RX4")
    add.add_argument("--name", required=True, help="the agency's name")
    add.add_argument("--kind", required=True, choices=[k.value for k in AgencyKind])


def _client_commands(commands: Any) -> None:
    client = commands.add_parser("client", help="manage machine clients").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = client.add_parser(
        "add", help="create client credentials; prints {client_id, client_secret} once"
    )
    add.add_argument("--agency", required=True, help="the agency the client acts for")
    add.add_argument(
        "--scopes", required=True, help='space-separated, e.g. "events:publish inbox:read"'
    )


def _agreement_commands(commands: Any) -> None:
    agreement = commands.add_parser("agreement", help="manage sharing agreements").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = agreement.add_parser(
        "add", help="propose a sharing agreement from a JSON file (a draft until approved)"
    )
    add.add_argument("--file", required=True, type=Path, help="agreement JSON (as POST body)")
    approve = agreement.add_parser(
        "approve", help="record a party's sign-off; the last party's puts it in force"
    )
    approve.add_argument("id", help="the agreement's id")
    approve.add_argument("--agency", required=True, help="the party agency signing off")
    approve.add_argument("--name", required=True, help="the person who signed for it")
    approve.add_argument("--role", required=True, help="their role, e.g. Caldicott Guardian")


def _user_commands(commands: Any) -> None:
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


async def _with_runtime(work: Callable[[Runtime], Awaitable[Any]]) -> Any:
    rt = build_runtime(Settings())
    try:
        return await work(rt)
    finally:
        await rt.close()


async def _add_agency(rt: Runtime, body: AgencyRegistration) -> None:
    async with rt.db.unit_of_work() as session:
        await register_agency(session, rt, OPERATOR, body)
        await session.commit()
    print(json.dumps(body.model_dump(mode="json")))


async def _add_client(rt: Runtime, body: ClientRegistration) -> None:
    async with rt.db.unit_of_work() as session:
        issued = await register_client(session, rt, OPERATOR, body)
        await session.commit()
    print(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))


async def _add_agreement(rt: Runtime, body: AgreementBody) -> None:
    async with rt.db.unit_of_work() as session:
        view = await create_agreement(session, rt, OPERATOR, body, any_party=True)
        await session.commit()
    print(json.dumps({k: view[k] for k in ("id", "version", "status", "title")}))


async def _approve_agreement(
    rt: Runtime, agreement_id: UUID, agency: str, approval: AgreementApproval
) -> None:
    # The operator records the sign-off on the party's behalf; the audit names both.
    actor = Actor(agency=agency, client=OPERATOR.client)
    async with rt.db.unit_of_work() as session:
        try:
            view = await approve_agreement(session, rt, actor, agreement_id, approval)
        except NotFound as exc:
            raise CliError(f"{exc.detail} to which {agency} is a party") from None
        await session.commit()
    keys = ("id", "version", "status", "pending_approvals")
    print(json.dumps({k: view[k] for k in keys}))


def _agreement_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError as exc:
        raise CliError(f"not an agreement id: {text!r}") from exc


async def _add_user(rt: Runtime, args: argparse.Namespace, password: str) -> None:
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


def _read_password() -> str:
    """From a terminal, typed twice without echo; otherwise the first line of standard input.
    Never from the command line, where other users and shell history would see it."""
    if sys.stdin is None:
        raise CliError("no password: give it on standard input")
    if not sys.stdin.isatty():
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise CliError("no password: give it on standard input")
        return password
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise CliError("the two passwords differ")
    return password


def _read_agreement(path: Path) -> AgreementBody:
    try:
        return AgreementBody.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc


def _run_process(settings: Settings, args: argparse.Namespace) -> None:
    # Imported here: the web application and the workers take about a second to import, which
    # every short administrative command would otherwise pay.
    from broker.serve import run_worker, serve
    from broker.workers.supervisor import Worker

    if args.command == "serve":
        asyncio.run(serve(settings, args.host, args.port, with_workers=not args.no_workers))
    else:
        asyncio.run(run_worker(settings, Worker(args.name)))


def _run(args: argparse.Namespace) -> None:
    settings = Settings()
    # Keys and the default SQLite database live here; nobody else needs to read it.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if args.command in ("serve", "worker"):
        _run_process(settings, args)
    elif args.command == "migrate":
        asyncio.run(upgrade_to_head(settings.resolved_database_url))
        print(f"imb: database at {settings.resolved_database_url.split('@')[-1]} is up to date")
    elif args.command == "user":
        password = _read_password()
        asyncio.run(_with_runtime(lambda rt: _add_user(rt, args, password)))
    elif args.command == "agency":
        body = AgencyRegistration(code=args.code, name=args.name, kind=args.kind)
        asyncio.run(_with_runtime(lambda rt: _add_agency(rt, body)))
    elif args.command == "client":
        client = ClientRegistration.model_validate(
            {"agency": args.agency, "scopes": args.scopes.split()}
        )
        asyncio.run(_with_runtime(lambda rt: _add_client(rt, client)))
    elif args.command == "audit":
        failure = asyncio.run(_with_runtime(lambda rt: run_audit(rt, args)))
        if failure:
            raise CliError(failure)
    elif args.command == "agreement" and args.action == "add":
        agreement = _read_agreement(args.file)
        asyncio.run(_with_runtime(lambda rt: _add_agreement(rt, agreement)))
    elif args.command == "agreement":
        approval = AgreementApproval.model_validate(
            {"approved_by": {"name": args.name, "role": args.role}}
        )
        agreement_id = _agreement_id(args.id)
        asyncio.run(
            _with_runtime(lambda rt: _approve_agreement(rt, agreement_id, args.agency, approval))
        )


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "input"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _fail(message: str) -> NoReturn:
    print(f"imb: {message}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=Settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every schema check and aiokafka every group join at INFO, and
    # aiosqlite logs each statement's parameters at DEBUG; what an operator needs from them is
    # a warning or worse, and no log may carry a parameter.
    for chatty in ("alembic", "aiokafka", "aiosqlite"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        _run(args)
    except ValidationError as exc:
        _fail(_one_line(exc))
    except BrokerError as exc:
        details = "; ".join(
            f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in getattr(exc, "errors", ())
        )
        _fail(f"{exc.detail}{': ' + details if details else ''}")
    except DBAPIError as exc:
        _fail(f"the database refused or could not be reached: {exc.orig}")
    except ConnectionError as exc:
        _fail(f"could not connect: {exc}")
    except CryptoError as exc:
        _fail(f"key material: {exc}")
    except (CliError, RuntimeError, OSError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
