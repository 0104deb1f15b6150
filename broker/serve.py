"""`imb serve` and `imb worker`: the processes that run the broker."""

import asyncio
import logging
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from broker.addresses import is_loopback
from broker.api.app import create_app
from broker.api.tls import protocol_with_tls
from broker.db.migrate import schema_behind
from broker.kafka.embedded import EmbeddedKafka
from broker.pipeline.recovery import requeue_unfinished
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.workers.heartbeat import first_beat, keep_beating, stopped_beating
from broker.workers.stall import LoopStalled, first_stall, until_stopped_or_stalled
from broker.workers.supervisor import (
    Worker,
    pipeline_topics_exist,
    readiness_probe,
    start_api_loops,
    start_workers,
    stop_workers,
    supervise,
)

log = logging.getLogger("imb")


class NotMigrated(RuntimeError):
    pass


class _Server(uvicorn.Server):
    """uvicorn, minus its re-raising of the stop signal after shutdown: that would end the
    process before the workers, the Kafka clients and the embedded broker are stopped."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


async def check_schema(rt: Runtime) -> None:
    behind = await schema_behind(rt.db.url)
    if behind:
        raise NotMigrated(behind)


@asynccontextmanager
async def kafka_for(settings: Settings) -> AsyncIterator[str]:
    """The configured Kafka, or an embedded broker for the life of the process."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedKafka(log_path=settings.data_dir / "kafka.log")
    bootstrap = await asyncio.to_thread(embedded.start)
    try:
        yield bootstrap
    finally:
        await asyncio.to_thread(embedded.stop)


async def prepare(rt: Runtime, bootstrap: str) -> None:
    await check_schema(rt)
    await pipeline_topics_exist(rt, bootstrap)
    if rt.settings.uses_embedded_kafka:
        requeued = await requeue_unfinished(rt)
        if requeued:
            log.info("re-announced %d unfinished messages and deliveries", requeued)


@dataclass(frozen=True)
class TlsFiles:
    """HTTPS: the server's certificate chain and key, and the CA whose client certificates are
    accepted (mutual TLS; optional per connection, so that browsers and secret-based clients
    still connect, and demanded where a client or a token needs one)."""

    certificate: Path
    key: Path
    client_ca: Path | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "ssl_certfile": str(self.certificate),
            "ssl_keyfile": str(self.key),
            "http": protocol_with_tls(),
        }
        if self.client_ca is not None:
            options |= {"ssl_ca_certs": str(self.client_ca), "ssl_cert_reqs": ssl.CERT_OPTIONAL}
        return options


async def serve(
    settings: Settings,
    host: str,
    port: int,
    with_workers: bool = True,
    tls: TlsFiles | None = None,
) -> None:
    rt = build_runtime(settings)
    rt.metrics_need_token = metrics_need_token(settings, host)
    async with kafka_for(settings) as bootstrap:
        await prepare(rt, bootstrap)
        probe, rt.kafka_ready = await readiness_probe(bootstrap)
        stop = asyncio.Event()
        tasks = start_workers(rt, bootstrap, list(Worker) if with_workers else [], stop)
        tasks += start_api_loops(rt, stop)
        server = _server(rt, host, port, tls)
        _announce(f"{'https' if tls else 'http'}://{host}:{port}", bootstrap, settings)
        watch = asyncio.create_task(_stop_serving_on_stall(server, tasks))
        try:
            await server.serve()
        finally:
            watch.cancel()
            await stop_workers(tasks, stop)
            await probe.stop()
            await rt.close()
    stalled = watch.result() if watch.done() and not watch.cancelled() else None
    if stalled is not None:
        raise stalled
    print("imb: stopped", file=sys.stderr, flush=True)


def _server(rt: Runtime, host: str, port: int, tls: TlsFiles | None) -> _Server:
    config = uvicorn.Config(
        create_app(rt),
        host=host,
        port=port,
        # The broker's own handler renders uvicorn's lines (broker.logs), and the access
        # line is IMB's (broker.api.access_log): uvicorn's would show the raw path.
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        # IMB reads forwarded headers itself, from its own trusted proxies only, and keeps
        # the connection's peer (broker.api.proxies).
        proxy_headers=False,
        **(tls.uvicorn_options() if tls else {}),
    )
    return _Server(config)


async def _stop_serving_on_stall(
    server: uvicorn.Server, tasks: list[asyncio.Task[None]]
) -> LoopStalled | None:
    """A worker loop that gives up ends `imb serve` too, after the requests under way."""
    stalled = await first_stall(tasks)
    if stalled is not None:
        server.should_exit = True
    return stalled


def metrics_need_token(settings: Settings, host: str) -> bool:
    if settings.metrics.require_token is not None:
        return settings.metrics.require_token
    return not is_loopback(host)


def _announce(base: str, bootstrap: str, settings: Settings) -> None:
    kafka = f"embedded broker at {bootstrap}" if settings.uses_embedded_kafka else bootstrap
    print(
        f"imb: serving on {base}\n"
        f"  API docs   {base}/docs\n"
        f"  OpenAPI    {base}/openapi.json\n"
        f"  health     {base}/healthz  {base}/readyz  {base}/metrics\n"
        f"  database   {settings.resolved_database_url.split('@')[-1]}\n"
        f"  kafka      {kafka}",
        flush=True,
    )


async def run_worker(settings: Settings, worker: Worker) -> None:
    """One worker alone, as production runs them: many of each, scaled independently."""
    if worker.needs_kafka and not settings.kafka_bootstrap_servers:
        raise NotMigrated(f"the {worker} worker alone needs IMB_KAFKA_BOOTSTRAP_SERVERS")
    rt = build_runtime(settings)
    await check_schema(rt)
    heartbeat = settings.workers.heartbeat_file
    if heartbeat is not None:
        first_beat(heartbeat)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = start_workers(rt, settings.kafka_bootstrap_servers or "", [worker], stop)
    beating = []
    if heartbeat is not None:
        beating.append(
            asyncio.create_task(supervise("heartbeat", lambda: keep_beating(heartbeat, stop), stop))
        )
    stalled = await until_stopped_or_stalled(tasks, stop)
    await stop_workers(tasks + beating, stop)
    if heartbeat is not None:
        stopped_beating(heartbeat)
    await rt.close()
    if stalled is not None:
        raise stalled
