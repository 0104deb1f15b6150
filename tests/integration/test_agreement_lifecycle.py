"""The sharing-agreement lifecycle through the API: draft, approval by every party, revision,
suspension, termination and reinstatement, each audited; refusals write nothing."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from broker.runtime import Runtime
from tests.integration.agreement_records import audit_details, snapshot
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, agreement_body, approval_by

PARTNERS = [TRUST, COUNCIL]


async def _propose(world: World, parties: list[str], **overrides: Any) -> dict[str, Any]:
    response = await world.post(parties[0], "/v1/agreements", agreement_body(parties, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _approve(world: World, agency: str, agreement_id: str) -> httpx.Response:
    return await world.post(agency, f"/v1/agreements/{agreement_id}/approvals", approval_by(agency))


async def _refused(world: World, runtime: Runtime, response_of: Any, status: int) -> None:
    """The request gets `status` as problem details and changes nothing."""
    before = await snapshot(runtime)
    response = await response_of()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await snapshot(runtime) == before


def _version(view: dict[str, Any], number: int) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in view["versions"] if v["version"] == number)
    return found


async def test_new_agreement_is_a_draft_until_every_party_approves(
    world: World, runtime: Runtime
) -> None:
    created = await _propose(world, PARTNERS)

    first = await _approve(world, TRUST, created["id"])
    last = await _approve(world, COUNCIL, created["id"])

    assert (created["version"], created["status"]) == (1, "draft")
    assert created["pending_approvals"] == [COUNCIL, TRUST]
    assert created["activated_at"] is None and created["in_force_version"] is None
    assert first.status_code == 200 and first.json()["status"] == "draft"
    assert first.json()["pending_approvals"] == [COUNCIL]
    active = last.json()
    assert (active["status"], active["pending_approvals"]) == ("active", [])
    assert active["in_force_version"] == 1 and active["activated_at"] is not None
    signed = {p["agency"]: p for p in active["parties"]}
    assert signed[TRUST]["approved_by"] == approval_by(TRUST)["approved_by"]
    assert signed[COUNCIL]["approved_at"] == active["activated_at"]
    mine = [
        d
        for d in await audit_details(runtime, "agreement.created")
        if d["agreement_id"] == created["id"]
    ]
    assert mine[0]["actor_agency"] == TRUST and mine[0]["version"] == 1
    approvals = await audit_details(runtime, "agreement.approved")
    assert [a["agency"] for a in approvals if a["agreement_id"] == created["id"]] == PARTNERS
    activations = await audit_details(runtime, "agreement.activated")
    assert activations[-1]["agreement_id"] == created["id"]
    assert activations[-1]["actor_agency"] == COUNCIL


async def test_agreement_approved_before_its_start_shows_approved_then_active_then_expired(
    world: World, runtime: Runtime
) -> None:
    start = datetime.now(UTC) + timedelta(days=10)
    view = await world.agree(
        PARTNERS,
        effective_from=start.isoformat(),
        effective_to=(start + timedelta(days=30)).isoformat(),
    )
    path = f"/v1/agreements/{view['id']}"

    runtime.clock = lambda: start + timedelta(days=1)
    during = (await world.get(TRUST, path)).json()
    runtime.clock = lambda: start + timedelta(days=31)
    after = (await world.get(TRUST, path)).json()

    assert (view["status"], view["in_force_version"]) == ("approved", None)
    assert (during["status"], during["in_force_version"]) == ("active", 1)
    assert (after["status"], after["in_force_version"]) == ("expired", None)


async def test_second_approval_by_a_party_and_approval_of_an_active_agreement_conflict(
    world: World, runtime: Runtime
) -> None:
    created = await _propose(world, [TRUST, COUNCIL, HOUSING])
    assert (await _approve(world, TRUST, created["id"])).status_code == 200
    await _refused(world, runtime, lambda: _approve(world, TRUST, created["id"]), 409)
    active = await world.approve(created["id"], [COUNCIL, HOUSING])
    assert active["status"] == "active"
    await _refused(world, runtime, lambda: _approve(world, COUNCIL, created["id"]), 409)


async def test_agency_outside_the_agreement_can_neither_see_nor_approve_it(
    world: World, runtime: Runtime
) -> None:
    created = await _propose(world, PARTNERS)

    await _refused(world, runtime, lambda: _approve(world, GP, created["id"]), 404)
    assert (await world.get(GP, f"/v1/agreements/{created['id']}")).status_code == 404
    unknown = str(uuid.uuid4())
    await _refused(world, runtime, lambda: _approve(world, TRUST, unknown), 404)


async def test_approval_is_a_partys_own_sign_off_by_a_named_person(
    world: World, runtime: Runtime
) -> None:
    created = await _propose(world, PARTNERS)
    path = f"/v1/agreements/{created['id']}/approvals"

    await _refused(world, runtime, lambda: world.post("admin", path, approval_by(TRUST)), 403)
    nameless = {"approved_by": {"name": " ", "role": "Caldicott Guardian"}}
    await _refused(world, runtime, lambda: world.post(TRUST, path, nameless), 422)
    extra = approval_by(TRUST, approved_at="2020-01-01T00:00:00Z")
    await _refused(world, runtime, lambda: world.post(TRUST, path, extra), 422)


async def test_revision_is_a_draft_and_the_old_version_stays_in_force_until_approved(
    world: World, runtime: Runtime
) -> None:
    agreement = await world.agree(PARTNERS)
    path = f"/v1/agreements/{agreement['id']}"
    revised_terms = agreement_body(PARTNERS, purposes=["safeguarding"])

    revised = (await world.put(COUNCIL, path, revised_terms)).json()
    approved = await world.approve(agreement["id"], PARTNERS)

    assert (revised["version"], revised["status"], revised["in_force_version"]) == (2, "draft", 1)
    assert revised["pending_approvals"] == [COUNCIL, TRUST]
    assert _version(revised, 1)["status"] == "active"
    assert (approved["status"], approved["in_force_version"]) == ("active", 2)
    assert approved["purposes"] == ["safeguarding"]
    old = _version(approved, 1)
    assert old["status"] == "superseded"
    assert old["ended_at"] == approved["activated_at"]
    assert old["end_reason"] == "superseded by version 2"
    created = await audit_details(runtime, "agreement.version_created")
    assert (created[-1]["version"], created[-1]["actor_agency"]) == (2, COUNCIL)
    superseded = await audit_details(runtime, "agreement.superseded")
    assert superseded[-1]["version"] == 1 and superseded[-1]["by_version"] == 2


async def test_revision_effective_later_takes_over_only_at_its_start(world: World) -> None:
    agreement = await world.agree(PARTNERS)
    start = datetime.now(UTC) + timedelta(days=3)
    later = agreement_body(PARTNERS, effective_from=start.isoformat())
    await world.put(TRUST, f"/v1/agreements/{agreement['id']}", later)

    approved = await world.approve(agreement["id"], PARTNERS)

    assert (approved["status"], approved["in_force_version"]) == ("approved", 1)
    old = _version(approved, 1)
    assert old["status"] == "active"
    assert datetime.fromisoformat(old["ended_at"]) == start


async def test_revising_a_pending_draft_withdraws_it(world: World) -> None:
    agreement = await world.agree(PARTNERS)
    path = f"/v1/agreements/{agreement['id']}"
    await world.put(TRUST, path, agreement_body(PARTNERS, title="Second thoughts"))
    assert (await _approve(world, TRUST, agreement["id"])).status_code == 200

    third = (await world.put(TRUST, path, agreement_body(PARTNERS, title="Third"))).json()

    assert (third["version"], third["status"], third["title"]) == (3, "draft", "Third")
    assert third["pending_approvals"] == [COUNCIL, TRUST]
    withdrawn = _version(third, 2)
    assert withdrawn["status"] == "superseded" and withdrawn["activated_at"] is None
    assert withdrawn["end_reason"].startswith("withdrawn")
    assert third["in_force_version"] == 1


async def test_revision_needs_a_party_and_sound_terms(world: World, runtime: Runtime) -> None:
    agreement = await world.agree(PARTNERS)
    path = f"/v1/agreements/{agreement['id']}"

    outsider = agreement_body([GP, HOUSING])
    await _refused(world, runtime, lambda: world.put(GP, path, outsider), 404)
    leaving = agreement_body([COUNCIL, HOUSING])
    await _refused(world, runtime, lambda: world.put(TRUST, path, leaving), 422)
    await _refused(
        world, runtime, lambda: world.put(TRUST, f"/v1/agreements/{uuid.uuid4()}", leaving), 404
    )


async def test_party_dropped_from_the_new_version_may_not_approve_it(
    world: World, runtime: Runtime
) -> None:
    agreement = await world.agree([TRUST, COUNCIL, HOUSING])
    await world.put(TRUST, f"/v1/agreements/{agreement['id']}", agreement_body(PARTNERS))

    await _refused(world, runtime, lambda: _approve(world, HOUSING, agreement["id"]), 403)


async def test_suspension_ends_the_version_in_force_now_with_its_reason(
    world: World, runtime: Runtime
) -> None:
    agreement = await world.agree(PARTNERS)
    path = f"/v1/agreements/{agreement['id']}/suspend"

    suspended = await world.post(COUNCIL, path, {"reason": "Breach under investigation"})

    view = suspended.json()
    assert suspended.status_code == 200
    assert (view["status"], view["in_force_version"]) == ("suspended", None)
    assert view["end_reason"] == "Breach under investigation" and view["ended_at"]
    audit = await audit_details(runtime, "agreement.suspended")
    assert audit[-1]["versions"] == [1] and audit[-1]["reason"] == "Breach under investigation"
    await _refused(world, runtime, lambda: world.post(COUNCIL, path, {"reason": "again"}), 409)


async def test_ending_needs_a_reason_and_a_party(world: World, runtime: Runtime) -> None:
    agreement = await world.agree(PARTNERS)
    outsider = {"reason": "Not ours"}
    for action in ("suspend", "terminate"):
        path = f"/v1/agreements/{agreement['id']}/{action}"
        await _refused(world, runtime, lambda p=path: world.post(TRUST, p, {"reason": "  "}), 422)
        await _refused(world, runtime, lambda p=path: world.post(TRUST, p, {}), 422)
        await _refused(world, runtime, lambda p=path: world.post(GP, p, outsider), 404)


async def test_termination_is_final(world: World, runtime: Runtime) -> None:
    agreement = await world.agree(PARTNERS)
    base = f"/v1/agreements/{agreement['id']}"

    terminated = await world.post("admin", f"{base}/terminate", {"reason": "Service ended"})

    assert terminated.status_code == 200, terminated.text
    assert terminated.json()["status"] == "terminated"
    assert (await audit_details(runtime, "agreement.terminated"))[-1]["actor_agency"] == TRUST
    again = {"reason": "again"}
    await _refused(world, runtime, lambda: world.post(TRUST, f"{base}/terminate", again), 409)
    await _refused(world, runtime, lambda: world.post(TRUST, f"{base}/suspend", again), 409)
    await _refused(world, runtime, lambda: world.post(TRUST, f"{base}/reinstate", {}), 409)
    await _refused(world, runtime, lambda: world.put(TRUST, base, agreement_body(PARTNERS)), 409)


async def test_terminating_a_suspended_agreement_keeps_when_it_stopped(world: World) -> None:
    agreement = await world.agree(PARTNERS)
    base = f"/v1/agreements/{agreement['id']}"
    suspended = (await world.post(TRUST, f"{base}/suspend", {"reason": "Audit"})).json()

    terminated = (await world.post(TRUST, f"{base}/terminate", {"reason": "Closed"})).json()

    assert terminated["status"] == "terminated" and terminated["end_reason"] == "Closed"
    assert terminated["ended_at"] == suspended["ended_at"]


async def test_reinstating_proposes_the_suspended_terms_again_for_every_party(
    world: World, runtime: Runtime
) -> None:
    agreement = await world.agree(PARTNERS, purposes=["direct_care"])
    base = f"/v1/agreements/{agreement['id']}"
    suspended = (await world.post(TRUST, f"{base}/suspend", {"reason": "Audit"})).json()

    proposed = (await world.post(COUNCIL, f"{base}/reinstate", {})).json()
    reinstated = await world.approve(agreement["id"], PARTNERS)

    assert (proposed["version"], proposed["status"]) == (2, "draft")
    assert proposed["purposes"] == ["direct_care"]
    assert proposed["pending_approvals"] == [COUNCIL, TRUST]
    assert (reinstated["status"], reinstated["in_force_version"]) == ("active", 2)
    old = _version(reinstated, 1)
    assert (old["status"], old["ended_at"]) == ("suspended", suspended["ended_at"])
    audit = await audit_details(runtime, "agreement.version_created")
    assert audit[-1]["reinstates"] == 1
    active = await world.agree([TRUST, GP])
    await _refused(
        world,
        runtime,
        lambda: world.post(TRUST, f"/v1/agreements/{active['id']}/reinstate", {}),
        409,
    )
