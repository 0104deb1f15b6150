"""Request dependencies: the runtime, a unit of work, and the authenticated caller."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from broker.api.access_log import remember_caller
from broker.audit.log import Actor
from broker.auth.certificates import check_binding
from broker.auth.tokens import AccessClaims, InvalidToken
from broker.errors import Forbidden, Unauthenticated
from broker.ratelimits.policies import call_limit
from broker.runtime import Runtime
from schemas.vocabulary import Scope


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(rt: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with rt.db.unit_of_work() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@dataclass(frozen=True)
class Caller:
    """The authenticated client; its agency is the agency of every request it makes."""

    claims: AccessClaims

    @property
    def agency(self) -> str:
        return self.claims.agency

    @property
    def actor(self) -> Actor:
        return Actor(agency=self.claims.agency, client=self.claims.client_id)

    def has(self, scope: Scope) -> bool:
        return scope.value in self.claims.scopes

    @property
    def visible_agency(self) -> str | None:
        """Whose objects the caller may see: its own agency's, or every agency's (None) for
        an administrator."""
        return None if self.has(Scope.ADMIN) else self.claims.agency

    @property
    def audit_viewer(self) -> str | None:
        """Whose audit trail, reports and exports the caller may read: every agency's (None)
        for an administrator or a regulator's auditor granted `audit:all`, otherwise its own
        agency's."""
        every = self.has(Scope.ADMIN) or self.has(Scope.AUDIT_ALL)
        return None if every else self.claims.agency


async def authenticate(request: Request, rt: RuntimeDep) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer access token is required")
    try:
        claims = rt.tokens.verify(token.strip())
        check_binding(request.scope, rt.settings, claims)
        await rt.client_status.check(rt.db, claims)
    except InvalidToken as exc:
        raise Unauthenticated(f"the access token is not valid: {exc}") from exc
    remember_caller(request.scope, claims.client_id, claims.agency)
    limits = await rt.agency_limits.of(rt.db, claims.agency)
    await rt.limiter.charge(call_limit(request, limits), claims.client_id)
    return Caller(claims)


# For the OpenAPI document (broker.api.contract): which operations need a token.
authenticate.imb_authenticates = True  # type: ignore[attr-defined]


def require(*scopes: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency admitting callers that hold at least one of the scopes."""

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if not any(caller.has(scope) for scope in scopes):
            wanted = " or ".join(scope.value for scope in scopes)
            raise Forbidden(f"this needs the scope {wanted}")
        return caller

    check.imb_scopes = [scope.value for scope in scopes]  # type: ignore[attr-defined]
    return check
