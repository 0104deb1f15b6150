"""The pages' authorization matrix: every page tried by nobody signed in, by a person whose role
it is not for, and by a person of GP (the outsider of tests/estate.py) in the role it is for.

An outsider sees none of the others' data and changes nothing (or only records its own act);
a page that is not in PAGES fails the test, so a new page cannot ship without being tried.
"""

from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from broker.api.app import create_app
from tests.estate import (
    OUTSIDER,
    Estate,
    audit_actors_since,
    build_estate,
    fill,
    foreign_in,
    snapshot,
)
from tests.web import add_person, form_token, sign_in, web_client
from tests.world import World

# Decided in Python over queries the API matrix already runs on both databases: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

IG, DUTY, AUDITOR = "ig_lead", "duty", "auditor"
# Whose role each page is not for, to try it with.
WRONG_ROLE = {IG: DUTY, DUTY: AUDITOR, AUDITOR: IG}
ACK_FIELDS = {"outcome": "actioned", "name": "G. Practitioner", "role": "GP"}


@dataclass(frozen=True)
class Page:
    role: str | None  # None: a page for anyone (signing in, style, script)
    status: int  # what the outsider gets, in that role
    path: str | None = None
    fields: dict[str, str] | None = None  # a posted form's fields (its token is added)
    own_audit: bool = False  # the visit records the outsider's own act


PAGES: dict[tuple[str, str], Page] = {
    ("GET", "/login"): Page(None, 200),
    ("POST", "/login"): Page(None, 403),  # no sign-in form token
    ("POST", "/logout"): Page(None, 303),
    ("GET", "/web/style.css"): Page(None, 200),
    ("GET", "/web/duty.js"): Page(None, 200),
    ("GET", "/docs"): Page(None, 200),
    ("GET", "/docs/swagger-init.js"): Page(None, 200),
    ("GET", "/redoc"): Page(None, 200),
    ("GET", "/ig/agreements"): Page(IG, 200),
    ("GET", "/ig/agreements/{agreement_id}"): Page(IG, 404, "/ig/agreements/{agreement}"),
    ("POST", "/ig/agreements/{agreement_id}/approve"): Page(
        IG,
        404,
        "/ig/agreements/{agreement}/approve",
        {"approver_name": "G. Practitioner", "approver_role": "Caldicott Guardian"},
    ),
    ("GET", "/ig/overrides"): Page(IG, 200),
    ("POST", "/ig/overrides/{override_id}/review"): Page(
        IG,
        404,
        "/ig/overrides/{override}/review",
        {"outcome": "not_upheld", "note": "Not ours to judge.", "reviewer_name": "G. P."},
    ),
    ("GET", "/duty"): Page(DUTY, 200),
    ("GET", "/duty/items"): Page(DUTY, 200),
    ("POST", "/duty/escalations/{escalation_id}/ack"): Page(
        DUTY, 404, "/duty/escalations/{escalation}/ack", ACK_FIELDS
    ),
    ("POST", "/duty/deliveries/{delivery_id}/ack"): Page(
        DUTY, 404, "/duty/deliveries/{delivery}/ack", ACK_FIELDS
    ),
    ("GET", "/audit"): Page(AUDITOR, 200),
    ("POST", "/audit/verify"): Page(AUDITOR, 303, fields={}, own_audit=True),
    ("POST", "/audit/subject"): Page(AUDITOR, 200, fields={"nhs_number": "{nhs}"}, own_audit=True),
    ("GET", "/audit/timeliness.csv"): Page(AUDITOR, 200),
    ("GET", "/audit/export.csv"): Page(AUDITOR, 200, own_audit=True),
}
HOME = {IG: "/ig/agreements", DUTY: "/duty", AUDITOR: "/audit"}


def _pages(world: World) -> set[tuple[str, str]]:
    app = create_app(world.rt)
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and not route.include_in_schema:
            found |= {(method, context.path_format) for method in context.methods or ()}
    return found


@pytest.fixture
async def estate(world: World) -> Estate:
    await world.token_for(OUTSIDER, [])  # registers GP
    for role in (IG, DUTY, AUDITOR):
        await add_person(world.rt, f"gp.{role}", OUTSIDER, role=role)
    return await build_estate(world)


async def _visit(
    browser: httpx.AsyncClient, method: str, path: str, page: Page, role: str | None
) -> httpx.Response:
    if method == "GET":
        return await browser.get(path)
    fields = dict(page.fields or {})
    if role is not None:
        fields["csrf_token"] = form_token(await browser.get(HOME[role]))
    return await browser.post(path, data=fields)


async def test_every_page_is_in_the_matrix(world: World) -> None:
    assert _pages(world) - set(PAGES) == set(), "add the new page to PAGES"
    assert set(PAGES) - _pages(world) == set(), "PAGES names a page that is gone"


async def test_nobody_signed_in_is_sent_to_sign_in_and_changes_nothing(
    world: World, estate: Estate
) -> None:
    before = await snapshot(world)
    async with web_client(world.rt) as browser:
        for (method, template), page in sorted(PAGES.items()):
            if page.role is None:
                continue
            path = fill(page.path or template, estate.ids)
            response = await _visit(browser, method, path, page, None)
            assert response.status_code == 303, (method, template)
            assert response.headers["location"] == "/login", (method, template)
    assert await snapshot(world) == before


async def test_a_person_in_another_role_is_refused_and_changes_nothing(
    world: World, estate: Estate
) -> None:
    before = await snapshot(world)
    for (method, template), page in sorted(PAGES.items()):
        if page.role is None:
            continue
        wrong = WRONG_ROLE[page.role]
        async with web_client(world.rt) as browser:
            await sign_in(browser, f"gp.{wrong}")
            response = await _visit(
                browser, method, fill(page.path or template, estate.ids), page, wrong
            )
        assert response.status_code == 403, (method, template, wrong)
    # Signing in is itself recorded; nothing else was.
    after = await snapshot(world)
    assert {t for t in before if before[t] != after[t]} <= {
        "audit_records",
        "web_sessions",
        "sign_in_attempts",
    }


async def test_an_outsider_in_the_right_role_learns_nothing_and_changes_nothing(
    world: World, estate: Estate
) -> None:
    leaks = {}
    for (method, template), page in sorted(PAGES.items()):
        if page.role is None:
            continue
        path = fill(page.path or template, estate.ids)
        fields = {k: fill(v, estate.ids) for k, v in (page.fields or {}).items()}
        async with web_client(world.rt) as browser:
            await sign_in(browser, f"gp.{page.role}")
            before, audited = await snapshot(world), len(await audit_actors_since(world, 0))
            visit = Page(page.role, page.status, path, fields if page.fields is not None else None)
            response = await _visit(browser, method, path, visit, page.role)
        assert response.status_code == page.status, (method, template, response.text[:300])
        leaked = foreign_in(response.text, f"{path} {fields}")
        if leaked:
            leaks[(method, template)] = leaked
        after = await snapshot(world)
        changed = {t for t in before if before[t] != after[t]}
        allowed = {"audit_records"} if page.own_audit else set()
        assert changed <= allowed, (method, template, changed)
        assert set(await audit_actors_since(world, audited)) <= {OUTSIDER}
    assert leaks == {}
