"""A broker to measure: its database, the Kafka-protocol broker, three agencies with clients,
an agreement in force, and the processes that run it, started and stopped by the benchmark."""

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from broker.db.engine import create_engine, is_sqlite
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import COUNCIL, HOUSING, TRUST, agreement_body

SCOPES = "events:publish inbox:read inbox:ack"
# One client publishes a whole benchmark's load: far above a partner's default limits, so the
# agencies' limits are raised as an operator would for such a system.
LIMITS = ("--publish", "1000000/minute", "--read", "1000000/minute")


@dataclass
class Estate:
    installation: ImbInstallation
    clients: dict[str, tuple[str, str]]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.installation.database_url

    def serve(self, *options: str) -> ServingImb:
        serving = self.installation.serve(*options)
        self.processes.append(serving.process)
        return serving

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        process = self.installation.worker(name)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    async def scalar(self, sql: str, **params: Any) -> Any:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(sql), params)).scalar()
        finally:
            await engine.dispose()

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                return [tuple(r) for r in (await connection.execute(text(sql), params)).all()]
        finally:
            await engine.dispose()


@contextmanager
def fresh_database(kind: str, folder: Path, admin_url: str) -> Iterator[str]:
    """A database of its own for one measurement: a SQLite file, or a new PostgreSQL database
    on the server `admin_url` names, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'imb-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"imb_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, sql: str) -> None:
    engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def set_up(folder: Path, database_url: str, kafka: str, **env: str) -> Estate:
    """Migrate, register the three agencies and their clients, and put an agreement in force."""
    installation = ImbInstallation(folder / "imb-data", database_url, kafka)
    installation.env.update(env)
    installation.run("migrate")
    for code, kind in ((TRUST, "nhs_trust"), (COUNCIL, "local_authority"), (HOUSING, "housing")):
        installation.run("agency", "add", code, "--name", code, "--kind", kind)
        installation.run("agency", "limits", code, *LIMITS)
    partners = [TRUST, COUNCIL, HOUSING]
    agreement = folder / f"agreement-{uuid.uuid4().hex[:6]}.json"
    agreement.write_text(json.dumps(agreement_body(partners)))
    installation.agree(agreement, partners)
    clients = {code: installation.add_client(code, SCOPES) for code in partners}
    return Estate(installation, clients)


def uses_sqlite(estate: Estate) -> bool:
    return is_sqlite(estate.database_url)
