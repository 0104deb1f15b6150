"""The pages show times in the partnership's zone (`IMB_WEB__TIME_ZONE`), named, with the UTC
instant on hover; an unknown zone is refused when the settings are read."""

import re

import pytest
from pydantic import ValidationError

from broker.runtime import Runtime
from broker.settings import Settings, WebSettings
from tests.web import add_person, sign_in, visible_text, web_client
from tests.world import TRUST, World, agreement_body

IG_LEAD = "ig.trust"


async def test_an_agreement_page_shows_its_times_in_the_partnerships_zone(
    world: World, runtime: Runtime
) -> None:
    web = runtime.settings.web.model_dump() | {"time_zone": "America/New_York"}
    runtime.settings.web = WebSettings(**web)
    created = await world.post("admin", "/v1/agreements", agreement_body([TRUST, "LA001"]))
    assert created.status_code == 201, created.text
    await add_person(runtime, IG_LEAD, TRUST)

    async with web_client(runtime) as browser:
        await sign_in(browser, IG_LEAD)
        page = await browser.get(f"/ig/agreements/{created.json()['id']}")

    assert page.status_code == 200
    assert re.search(r"from \d\d \w{3} \d{4}, \d\d:\d\d E[SD]T", visible_text(page))
    assert re.search(r'<time datetime="[^"]+\+00:00" title="[^"]+ UTC">', page.text)


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="not a time zone IMB knows: 'Europe/Londn'"):
        Settings(web=WebSettings(time_zone="Europe/Londn"))
