"""The `imb` command line."""

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from broker.agencies.commands import (
    add_agency,
    add_agency_commands,
    add_client_commands,
    channel_body,
    client_registration,
    run_agency_reading,
    run_client,
    set_agency_channel,
    set_limits,
)
from broker.agencies.duty_team_commands import (
    add_duty_team_commands,
    duty_team_body,
    run_duty_team,
)
from broker.agreements.commands import add_agreement_reading_commands, run_agreement_reading
from broker.agreements.service import approve_agreement, create_agreement
from broker.audit.commands import add_audit_commands, run_audit
from broker.audit.log import Actor
from broker.console import progress, wants_progress
from broker.crypto import CryptoError
from broker.db.engine import is_sqlite
from broker.db.migrate import head_revision, schema_behind, upgrade_to_head
from broker.deliveries.commands import add_dead_letter_commands, run_dead_letters
from broker.errors import BrokerError, NotFound
from broker.escalations.commands import add_escalation_commands, run_escalations
from broker.logs import configure_logging
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.timeframes.commands import add_timeframe_commands, read_timeframes, run_timeframes
from broker.users.commands import add_user, add_user_commands, run_user
from schemas.admin import AgencyRegistration, RateLimitsBody
from schemas.agreements import AgreementApproval, AgreementBody

if TYPE_CHECKING:
    from broker.serve import TlsFiles

OPERATOR = Actor(agency=None, client="imb-cli")
PROGRESS_HELP = "show progress on standard error even when it is not a terminal"
WORKERS = ["relay", "router", "dispatcher", "deadlines", "notifier", "chainer"]
EPILOG = """environment:
  IMB_DATA_DIR                  keys, SQLite database and logs (default ./imb-data)
  IMB_DATABASE_URL              SQLAlchemy async URL (default SQLite under IMB_DATA_DIR)
  IMB_KAFKA_BOOTSTRAP_SERVERS   Kafka bootstrap servers (default: an embedded broker)
  IMB_PUBLIC_BASE_URL           where people reach the pages, for links in e-mails
  IMB_LOG__FORMAT, __LEVEL      console (key=value, default) or json; INFO by default
  IMB_SMTP__HOST, __PORT, __SECURITY, __USERNAME, __PASSWORD, __FROM_ADDRESS
                                escalation e-mail to duty teams (none without a host)
  IMB_AUTH__ALLOW_CLIENT_SECRET false in production: private_key_jwt or mutual TLS only
  IMB_RATE_LIMIT__STORAGE_URL   redis://… to share rate-limit counts between processes
  IMB_TRUSTED_PROXIES           reverse proxies whose X-Forwarded-* headers count
  IMB_TLS__FORWARDED_CERT_HEADER
                                behind a TLS-terminating proxy: its client-certificate header
  IMB_METRICS__REQUIRE_TOKEN    /metrics needs metrics:read (default: unless on loopback)
  IMB_WORKERS__STALL_EXIT_SECONDS
                                a worker loop failing on every attempt this long ends
                                `serve` or `worker` with status 3 (default 300; 0 never)
docs/security.md explains the security settings; README.md lists the rest.

exit status:
  0    done (`audit verify`: the chain is intact)
  1    refused or failed: bad input (nothing written), verification failed, the database
       or Kafka unreachable; one line on standard error says why
  2    usage: an unknown command or option, or a required one missing
  3    `serve`, `worker`: a worker loop failed on every attempt for longer than
       IMB_WORKERS__STALL_EXIT_SECONDS (the database or Kafka out of reach, say); one log
       line names the loop, for how long and the last error's type. Restart it.
  130  interrupted
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
        "--tls-cert", type=Path, metavar="FILE", help="serve HTTPS: certificate chain"
    )
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="serve HTTPS: its private key")
    serve.add_argument(
        "--client-ca",
        type=Path,
        metavar="FILE",
        help="mutual TLS: accept client certificates from this CA (tls_client_auth, "
        "certificate-bound tokens)",
    )
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="the API alone, where `imb worker` processes run the pipeline",
    )
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    migrate.add_argument(
        "--check",
        action="store_true",
        help="change nothing: exit 0 if the schema is at this release's head, 1 if not",
    )
    worker = commands.add_parser(
        "worker",
        help="run one worker alone (relay, router and dispatcher need external Kafka; "
        "the others only the database)",
    )
    worker.add_argument("name", choices=WORKERS)
    demo = commands.add_parser(
        "demo",
        help="seed a fictional partnership with events (routed, withheld, overridden, "
        "escalated) into an empty database, and print its log-ins and client secrets once",
    )
    demo.add_argument(
        "--force", action="store_true", help="add a demo partnership beside existing agencies"
    )
    add_agency_commands(commands)
    add_client_commands(commands)
    _agreement_commands(commands)
    add_duty_team_commands(commands)
    add_timeframe_commands(commands)
    add_escalation_commands(commands)
    add_user_commands(commands)
    add_audit_commands(commands)
    add_dead_letter_commands(commands)
    return parser


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
    add_agreement_reading_commands(agreement)


async def _with_runtime(work: Callable[[Runtime], Awaitable[Any]]) -> Any:
    rt = build_runtime(Settings())
    try:
        return await work(rt)
    finally:
        await rt.close()


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
    from broker.workers.stall import STALL_EXIT_STATUS, LoopStalled
    from broker.workers.supervisor import Worker

    try:
        if args.command == "serve":
            tls = _tls_files(args)
            asyncio.run(
                serve(settings, args.host, args.port, with_workers=not args.no_workers, tls=tls)
            )
        else:
            asyncio.run(run_worker(settings, Worker(args.name)))
    except LoopStalled:
        raise SystemExit(STALL_EXIT_STATUS) from None  # its line is already in the log


def _tls_files(args: argparse.Namespace) -> "TlsFiles | None":
    from broker.serve import TlsFiles

    if args.tls_cert is None and args.tls_key is None:
        if args.client_ca is not None:
            raise CliError("--client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise CliError("--tls-cert and --tls-key go together")
    for path in (args.tls_cert, args.tls_key, args.client_ca):
        if path is not None and not path.is_file():
            raise CliError(f"cannot read {path}")
    return TlsFiles(args.tls_cert, args.tls_key, args.client_ca)


def _check_schema(url: str) -> None:
    """Exit 1 unless the schema is at this release's head (Kubernetes pods wait on this)."""
    sqlite_file = make_url(url).database if is_sqlite(url) else None
    if sqlite_file is not None and not Path(sqlite_file).exists():
        # Connecting would create the file, and this check changes nothing.
        raise CliError(f"no database at {sqlite_file}: run `imb migrate`")
    behind = asyncio.run(schema_behind(url))
    if behind:
        raise CliError(behind)
    print(f"imb: database at {url.split('@')[-1]} is at the schema's head, {head_revision()}")


def _run(args: argparse.Namespace) -> None:
    settings = Settings()
    if args.command == "migrate" and args.check:
        _check_schema(settings.resolved_database_url)  # before the data dir is made
        return
    # Keys and the default SQLite database live here; nobody else needs to read it.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if args.command in ("serve", "worker"):
        _run_process(settings, args)
    elif args.command == "migrate":
        with progress(wants_progress(args.progress), "bringing the schema up to date"):
            asyncio.run(upgrade_to_head(settings.resolved_database_url))
        print(f"imb: database at {settings.resolved_database_url.split('@')[-1]} is up to date")
    elif args.command == "demo":
        from broker.demo.run import run_demo  # imports the workers, as `serve` does

        asyncio.run(run_demo(settings, force=args.force))
    elif args.command == "user" and args.action == "add":
        password = _read_password()
        asyncio.run(_with_runtime(lambda rt: add_user(rt, args, password)))
    elif args.command == "user":
        asyncio.run(_with_runtime(lambda rt: run_user(rt, args)))
    elif args.command == "agency" and args.action in ("list", "show"):
        asyncio.run(_with_runtime(lambda rt: run_agency_reading(rt, args)))
    elif args.command == "agency" and args.action == "channel":
        channel = channel_body(args)  # bad input is refused before any connection is made
        asyncio.run(_with_runtime(lambda rt: set_agency_channel(rt, args, channel)))
    elif args.command == "agency" and args.action == "limits":
        limits = RateLimitsBody(publish=args.publish, read=args.read)
        asyncio.run(_with_runtime(lambda rt: set_limits(rt, args.code, limits)))
    elif args.command == "agency":
        body = AgencyRegistration(code=args.code, name=args.name, kind=args.kind)
        asyncio.run(_with_runtime(lambda rt: add_agency(rt, body)))
    elif args.command == "client":
        if args.action == "add":
            client_registration(args)  # bad input is refused before any connection is made
        asyncio.run(_with_runtime(lambda rt: run_client(rt, args)))
    elif args.command == "duty-team":
        if args.action == "set":
            duty_team_body(args)  # bad input is refused before any connection is made
        asyncio.run(_with_runtime(lambda rt: run_duty_team(rt, args)))
    elif args.command == "timeframes":
        policy = read_timeframes(args.file) if args.action == "set" else None
        asyncio.run(_with_runtime(lambda rt: run_timeframes(rt, args, policy)))
    elif args.command == "escalation":
        asyncio.run(_with_runtime(lambda rt: run_escalations(rt, args)))
    elif args.command == "dead-letters":
        asyncio.run(_with_runtime(lambda rt: run_dead_letters(rt, args)))
    elif args.command == "audit":
        failure = asyncio.run(_with_runtime(lambda rt: run_audit(rt, args)))
        if failure:
            raise CliError(failure)
    elif args.command == "agreement" and args.action in ("list", "show"):
        asyncio.run(_with_runtime(lambda rt: run_agreement_reading(rt, args)))
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
    try:
        configure_logging(Settings().log)
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
