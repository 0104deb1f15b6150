"""What an agreement may say (lawful basis, data items, period, parties) and how agreements
are read: by party, by status, and those due for review."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker.runtime import Runtime
from schemas.agreements import RECOGNISED_LEGITIMATE_INTEREST_COMMENCES
from tests.integration.agreement_records import snapshot
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, agreement_body

COMMENCED = RECOGNISED_LEGITIMATE_INTEREST_COMMENCES
BEFORE_RLI = (COMMENCED - timedelta(days=1)).isoformat()


def _basis(art6: str, art9: str = "health_social_care", **more: str) -> dict[str, Any]:
    return {"art6": art6, "art9": art9, "confidentiality": "explicit_consent", **more}


REFUSED_TERMS = [
    pytest.param(
        [TRUST, COUNCIL],
        {"lawful_basis": _basis("public_task", "substantial_public_interest")},
        ["body", "lawful_basis", "dpa_sch1_para"],
        "Sch 1 paragraph",
        id="art9g-without-sch1-paragraph",
    ),
    pytest.param(
        [TRUST, HOUSING],
        {"lawful_basis": _basis("legitimate_interests")},
        ["body", "lawful_basis", "art6"],
        "public authorities",
        id="art6f-with-an-nhs-trust",
    ),
    pytest.param(
        [HOUSING, COUNCIL],
        {"lawful_basis": _basis("recognised_legitimate_interest")},
        ["body", "lawful_basis", "art6"],
        "LA001",
        id="art6ea-with-a-local-authority",
    ),
    pytest.param(
        [HOUSING, GP],
        {"lawful_basis": _basis("recognised_legitimate_interest"), "effective_from": BEFORE_RLI},
        ["body", "effective_from"],
        COMMENCED.date().isoformat(),
        id="art6ea-before-commencement",
    ),
    pytest.param(
        [TRUST, COUNCIL],
        {"effective_to": (datetime.now(UTC) - timedelta(days=2)).isoformat()},
        ["body", "effective_to"],
        "after effective_from",
        id="ends-before-it-starts",
    ),
    pytest.param(
        [TRUST, COUNCIL],
        {"event_types": ["risk.changed"], "data_items": {"crisis.occurred": ["summary"]}},
        ["body", "data_items"],
        "crisis.occurred",
        id="data-items-for-an-uncovered-event-type",
    ),
    pytest.param(
        [TRUST, COUNCIL],
        {"data_items": {"risk.changed": ["current_level", "curent_level"]}},
        ["body", "data_items"],
        "risk.changed: curent_level",
        id="data-item-the-payload-does-not-have",
    ),
    pytest.param(
        [TRUST, "NOPE1"],
        {},
        ["body", "parties", 1, "agency"],
        "unknown agency NOPE1",
        id="unknown-agency",
    ),
]


@pytest.mark.parametrize(("parties", "terms", "where", "why"), REFUSED_TERMS)
async def test_unsound_terms_are_refused_with_the_field_and_write_nothing(
    world: World,
    runtime: Runtime,
    parties: list[str],
    terms: dict[str, Any],
    where: list[str | int],
    why: str,
) -> None:
    body = agreement_body(parties, **terms)
    before = await snapshot(runtime)

    created = await world.post("admin", "/v1/agreements", body)
    revised = await world.put("admin", f"/v1/agreements/{await _any_agreement(world)}", body)

    for response in (created, revised):
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert any(e["loc"] == where and why in e["msg"] for e in errors), errors
    assert await snapshot(runtime) == before


async def _any_agreement(world: World) -> str:
    items = (await world.get("admin", "/v1/agreements")).json()["items"]
    return str(items[0]["id"])


async def test_a_proposer_must_be_a_party_unless_administering(world: World) -> None:
    refused = await world.post(GP, "/v1/agreements", agreement_body([TRUST, COUNCIL]))
    recorded = await world.post("admin", "/v1/agreements", agreement_body([COUNCIL, HOUSING]))

    assert refused.status_code == 422
    assert ["body", "parties"] in [e["loc"] for e in refused.json()["errors"]]
    assert recorded.status_code == 201


@pytest.mark.parametrize(
    ("parties", "art6", "effective_from"),
    [
        ([HOUSING, GP], "legitimate_interests", None),
        ([HOUSING, GP], "recognised_legitimate_interest", COMMENCED.isoformat()),
    ],
)
async def test_legitimate_interests_are_open_to_agencies_that_are_not_public_authorities(
    world: World, parties: list[str], art6: str, effective_from: str | None
) -> None:
    extra = {"effective_from": effective_from} if effective_from else {}
    body = agreement_body(parties, lawful_basis=_basis(art6), **extra)

    response = await world.post("admin", "/v1/agreements", body)

    assert response.status_code == 201, response.text
    assert response.json()["lawful_basis"]["art6"] == art6


async def test_non_admins_list_only_their_agreements_filtered_by_party_and_status(
    world: World,
) -> None:
    housing_gp = await world.agree([HOUSING, GP])
    draft = (await world.post(GP, "/v1/agreements", agreement_body([GP, COUNCIL]))).json()

    gp_all = (await world.get(GP, "/v1/agreements")).json()["items"]
    gp_drafts = (await world.get(GP, "/v1/agreements", status="draft")).json()["items"]
    gp_with_housing = (await world.get(GP, "/v1/agreements", party=HOUSING)).json()["items"]
    trust_all = (await world.get(TRUST, "/v1/agreements")).json()["items"]
    admin_gp = (await world.get("admin", "/v1/agreements", party=GP)).json()["items"]
    bad_status = await world.get(GP, "/v1/agreements", status="sleeping")

    assert [i["id"] for i in gp_all] == [draft["id"], housing_gp["id"]]
    assert [i["id"] for i in gp_drafts] == [draft["id"]]
    assert [i["id"] for i in gp_with_housing] == [housing_gp["id"]]
    assert all(GP not in [p["agency"] for p in i["parties"]] for i in trust_all)
    assert {i["id"] for i in admin_gp} == {draft["id"], housing_gp["id"]}
    assert bad_status.status_code == 422


async def test_reading_one_agreement_shows_every_version_with_its_approvals(
    world: World,
) -> None:
    agreement = await world.agree([HOUSING, GP])
    path = f"/v1/agreements/{agreement['id']}"
    await world.put(GP, path, agreement_body([HOUSING, GP], title="Revised"))
    await world.post(
        GP, f"{path}/approvals", {"approved_by": {"name": "D. Khan", "role": "Practice manager"}}
    )

    view = (await world.get(HOUSING, path)).json()

    assert (view["version"], view["status"], view["title"]) == (2, "draft", "Revised")
    assert view["pending_approvals"] == [HOUSING]
    assert [v["version"] for v in view["versions"]] == [2, 1]
    newest, first = view["versions"]
    assert {p["agency"]: p["approved_by"] for p in newest["parties"]} == {
        GP: {"name": "D. Khan", "role": "Practice manager"},
        HOUSING: None,
    }
    assert first["status"] == "active" and first["activated_at"] is not None
    assert set(first) >= {"effective_from", "effective_to", "ended_at", "end_reason"}


async def test_due_for_review_lists_agreements_in_force_reviewing_soon_or_overdue(
    world: World, runtime: Runtime
) -> None:
    today = datetime.now(UTC).date()
    overdue = await world.agree([HOUSING, GP], review_date=str(today - timedelta(days=1)))
    soon = await world.agree([HOUSING, GP], review_date=str(today + timedelta(days=20)))
    await world.agree([HOUSING, GP], review_date=str(today + timedelta(days=90)))
    draft = agreement_body([HOUSING, GP], review_date=str(today))
    assert (await world.post(GP, "/v1/agreements", draft)).status_code == 201

    due = (await world.get(GP, "/v1/agreements/due-for-review")).json()["items"]
    within_week = await world.get(GP, "/v1/agreements/due-for-review", within_days=7)
    too_far = await world.get(GP, "/v1/agreements/due-for-review", within_days=-1)

    assert [i["id"] for i in due] == [overdue["id"], soon["id"]]
    assert due[0]["review"]["overdue"] is True and due[1]["review"]["overdue"] is False
    assert [i["id"] for i in within_week.json()["items"]] == [overdue["id"]]
    assert too_far.status_code == 422
    trust_due = (await world.get(TRUST, "/v1/agreements/due-for-review")).json()["items"]
    assert all(i["id"] not in {overdue["id"], soon["id"]} for i in trust_due)
