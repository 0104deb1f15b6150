"""The FastAPI application for one runtime."""

from fastapi import FastAPI

from broker.api.bodies import BodyLimit
from broker.api.contract import contract
from broker.api.observe import ObserveResponses
from broker.api.problems import install_problem_handlers
from broker.api.proxies import TrustedProxies
from broker.api.routes import (
    admin,
    agency_limits,
    agreements,
    audit,
    audit_export,
    channels,
    crisis_plans,
    dead_letters,
    decisions,
    docs,
    duty_teams,
    escalations,
    events,
    health,
    inbox,
    index,
    oauth,
    overrides,
    reports,
    subjects,
    timeframes,
)
from broker.extensions import extensions
from broker.messages.group_commit import GroupCommit
from broker.runtime import Runtime
from broker.web import routes as web

DESCRIPTION = """
IMB carries risk changes, disengagement alerts and crisis events between the record systems
of the agencies around a person in community mental health care. Every delivery is checked
against sharing agreements and the person's consent, and every receipt and acknowledgement
is audited. Authenticate with OAuth 2.0 client credentials at `/oauth/token`
(`private_key_jwt` or mutual TLS in production; a client secret in development), then send
`Authorization: Bearer <token>`. Errors are RFC 9457 problem details.
"""


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="IMB — Interagency Messaging Broker",
        version="1.0.0",
        description=DESCRIPTION,
        # Served by broker.api.routes.docs instead, with no asset from another host.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.group_commit = GroupCommit(rt)
    app.openapi = contract(app)  # type: ignore[method-assign]
    install_problem_handlers(app)
    for module in (
        oauth,
        events,
        inbox,
        subjects,
        agreements,
        overrides,
        decisions,
        crisis_plans,
        timeframes,
        escalations,
        audit,
        audit_export,
        reports,
        admin,
        agency_limits,
        duty_teams,
        channels,
        dead_letters,
        health,
        index,
        docs,
        web,
    ):
        app.include_router(module.router)
    for router in extensions().routers:
        app.include_router(router)
    app.mount(docs.ASSETS, docs.assets(), name="docs-assets")

    app.add_middleware(
        BodyLimit,
        max_bytes=rt.settings.max_body_bytes,
        larger={"/v1/events:batch": rt.settings.max_batch_body_bytes},
        timeout=rt.settings.body_timeout_seconds,
    )
    app.add_middleware(ObserveResponses, metrics=rt.metrics)
    app.add_middleware(TrustedProxies, trusted=rt.settings.trusted_proxies)
    return app
