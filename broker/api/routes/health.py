"""Liveness, readiness and metrics for operators."""

import asyncio

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from broker.api.deps import RuntimeDep, authenticate, require
from broker.audit.gauges import refresh_audit_gauges
from broker.deliveries.counts import refresh_state_gauges
from schemas.vocabulary import Scope

router = APIRouter(tags=["operations"])
# A probe must answer within its own timeout (3 s in deploy/k8s) even when the network
# swallows packets: a check that has not answered by then counts as a failure.
CHECK_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(rt: RuntimeDep) -> JSONResponse:
    """The database and Kafka are reachable (503 otherwise), each checked within two seconds.
    Nothing is kept between probes: the answer turns back to 200 as soon as both return."""
    database, kafka = await asyncio.gather(_database_ready(rt), _kafka_ready(rt))
    checks = {"database": database, "kafka": kafka}
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database_ready(rt: RuntimeDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_SECONDS), rt.db.unit_of_work() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason goes to the logs, not here
        return False
    return True


async def _kafka_ready(rt: RuntimeDep) -> bool:
    if rt.kafka_ready is None:
        return False
    try:
        return await rt.kafka_ready()
    except Exception:
        return False


async def metrics_reader(request: Request, rt: RuntimeDep) -> None:
    """Anyone on loopback; beyond it, a client holding `metrics:read` (or `admin`)."""
    if rt.metrics_need_token:
        await require(Scope.METRICS_READ, Scope.ADMIN)(await authenticate(request, rt))


metrics_reader.imb_scopes = [Scope.METRICS_READ.value, Scope.ADMIN.value]  # type: ignore[attr-defined]


@router.get(
    "/metrics",
    dependencies=[Depends(metrics_reader)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
async def metrics(rt: RuntimeDep) -> Response:
    """Prometheus text format. Needs a `metrics:read` bearer token unless the broker listens
    only on loopback (IMB_METRICS__REQUIRE_TOKEN decides otherwise)."""
    async with rt.db.unit_of_work() as session:
        await refresh_state_gauges(session, rt.metrics)
        await refresh_audit_gauges(session, rt.metrics)
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)
