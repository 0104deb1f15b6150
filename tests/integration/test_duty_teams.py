"""Each agency's duty team: where its escalations are sent."""

from sqlalchemy import select

from broker.db.models import AuditRecord, DutyTeam
from schemas.vocabulary import Scope
from tests.rows import row_counts
from tests.world import COUNCIL, HOUSING, TRUST, World

TEAM = {
    "name": "Adult social care out-of-hours team",
    "email": "ooh.duty@riverside.gov.uk",
    "webhook_url": "https://pager.example.org/hooks/T0K3N-s3cret?key=abc",
}
PATH = f"/v1/agencies/{COUNCIL}/duty-team"


async def test_administrator_sets_a_duty_team_that_the_agency_can_read(world: World) -> None:
    first = await world.put("admin", PATH, {**TEAM, "webhook_url": None})
    replaced = await world.put("admin", PATH, TEAM)

    assert first.status_code == 200, first.text
    assert replaced.status_code == 200, replaced.text
    team = replaced.json()
    assert (team["agency"], team["name"], team["email"]) == (COUNCIL, TEAM["name"], TEAM["email"])
    assert team["webhook_url"] == TEAM["webhook_url"]
    assert (await world.get(COUNCIL, PATH)).json() == team
    assert (await world.get("admin", PATH)).json() == team
    assert (await world.get(TRUST, PATH)).status_code == 404
    assert (await world.get(HOUSING, f"/v1/agencies/{HOUSING}/duty-team")).status_code == 404
    statement = select(AuditRecord.actor_agency, AuditRecord.detail).where(
        AuditRecord.event == "duty_team.set"
    )
    async with world.rt.db.unit_of_work() as session:
        audit = (await session.execute(statement.order_by(AuditRecord.id))).all()
    assert [agency for agency, _ in audit] == [TRUST, TRUST]
    detail = audit[-1][1]
    assert (detail["name"], detail["email"]) == (TEAM["name"], TEAM["email"])
    # The webhook's origin only: its path and query carry the receiver's secret.
    assert detail["webhook"] == "https://pager.example.org"
    assert "s3cret" not in str(detail)


async def test_setting_a_duty_team_needs_admin_and_valid_input_and_writes_nothing_else(
    world: World,
) -> None:
    reader = await world.token_for(COUNCIL, [Scope.EVENTS_PUBLISH])
    before = await row_counts(world.rt, DutyTeam, AuditRecord)

    not_admin = await world.put(COUNCIL, PATH, TEAM)
    bad_email = await world.put("admin", PATH, {**TEAM, "email": "duty team@council"})
    bad_url = await world.put("admin", PATH, {**TEAM, "webhook_url": "ftp://pager.example.org"})
    unknown = await world.put("admin", "/v1/agencies/NOPE1/duty-team", TEAM)
    malformed = await world.put("admin", "/v1/agencies/la001/duty-team", TEAM)
    unscoped = await world.api.get(PATH, headers={"Authorization": f"Bearer {reader}"})

    assert not_admin.status_code == 403
    assert bad_email.status_code == 422
    assert [e["loc"] for e in bad_email.json()["errors"]] == [["body", "email"]]
    assert bad_url.status_code == 422
    assert [e["loc"] for e in bad_url.json()["errors"]] == [["body", "webhook_url"]]
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["errors"] == [{"loc": ["path", "code"], "msg": "unknown agency NOPE1"}]
    assert malformed.status_code == 422
    assert [e["loc"] for e in malformed.json()["errors"]] == [["path", "code"]]
    assert unscoped.status_code == 403
    assert await row_counts(world.rt, DutyTeam, AuditRecord) == before
