"""An agreement's dates hold together: it is not reviewed before it starts."""

from datetime import UTC, datetime

import httpx

from broker.db.models import AgreementVersion, AuditRecord
from tests.rows import row_counts
from tests.world import COUNCIL, TRUST, World, agreement_body

STARTS = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _refused_for_review_date(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "review_date"]
    assert "must not be before effective_from (2026-04-01)" in error["msg"]


async def test_review_date_before_the_start_is_refused_when_proposed_or_revised(
    world: World,
) -> None:
    early = {"effective_from": STARTS.isoformat(), "review_date": "2026-03-31"}
    proposed = await world.post("admin", "/v1/agreements", agreement_body([TRUST, COUNCIL]))
    path = f"/v1/agreements/{proposed.json()['id']}"
    before = await row_counts(world.rt, AgreementVersion, AuditRecord)

    created = await world.post("admin", "/v1/agreements", agreement_body([TRUST, COUNCIL], **early))
    revised = await world.put("admin", path, agreement_body([TRUST, COUNCIL], **early))

    _refused_for_review_date(created)
    _refused_for_review_date(revised)
    assert await row_counts(world.rt, AgreementVersion, AuditRecord) == before


async def test_review_on_the_day_it_starts_is_accepted(world: World) -> None:
    # The start's date is taken in UTC: 00:30 at +01:00 on 1 April is 31 March in UTC.
    same_day = {"effective_from": STARTS.isoformat(), "review_date": "2026-04-01"}
    late_evening = {"effective_from": "2026-04-01T00:30:00+01:00"}

    on_the_day = await world.post(
        "admin", "/v1/agreements", agreement_body([TRUST, COUNCIL], **same_day)
    )
    the_day_before_in_utc = await world.post(
        "admin",
        "/v1/agreements",
        agreement_body([TRUST, COUNCIL], **late_evening, review_date="2026-03-31"),
    )

    assert on_the_day.status_code == 201, on_the_day.text
    assert on_the_day.json()["review_date"] == "2026-04-01"
    assert the_day_before_in_utc.status_code == 201, the_day_before_in_utc.text
