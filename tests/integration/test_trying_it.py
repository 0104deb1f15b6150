"""The README's "Trying it", step by step as it is written there: the `imb` commands it shows
(run through the use cases those commands call), then its requests over HTTP, with the same
files, form fields and bodies, until the event is delivered and acknowledged."""

import json
import re
import shlex
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from broker.agencies.clients import register_client
from broker.agencies.service import register_agency
from broker.agreements.service import approve_agreement, create_agreement
from broker.audit.log import Actor
from broker.runtime import Runtime
from schemas.admin import AgencyRegistration, ClientRegistration
from schemas.agreements import AgreementApproval, AgreementBody
from schemas.vocabulary import AgencyKind, Scope
from tests.world import eventually

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Actor(agency=None, client="imb-cli")


def _trying_it() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Trying it\n", 1)[1].split("\n## ", 1)[0]


def _commands(section: str) -> list[list[str]]:
    """Each `imb …` line of the section, as its arguments, without a trailing comment."""
    lines = [line.split("#", 1)[0] for line in section.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("imb ")]


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


async def _run_imb_commands(rt: Runtime, commands: list[list[str]]) -> dict[str, tuple[str, str]]:
    """The agencies, clients and agreement the commands make; each agency's credentials."""
    credentials, agreement_id = {}, None
    async with rt.db.unit_of_work() as session:
        for args in commands:
            if args[:2] == ["agency", "add"]:
                body = AgencyRegistration(
                    code=args[2],
                    name=_option(args, "--name"),
                    kind=AgencyKind(_option(args, "--kind")),
                )
                await register_agency(session, rt, OPERATOR, body)
            elif args[:2] == ["client", "add"]:
                agency = _option(args, "--agency")
                scopes = [Scope(s) for s in _option(args, "--scopes").split()]
                issued = await register_client(
                    session, rt, OPERATOR, ClientRegistration(agency=agency, scopes=scopes)
                )
                assert issued.client_secret is not None
                credentials[agency] = (issued.client_id, issued.client_secret)
            elif args[:2] == ["agreement", "add"]:
                terms = json.loads((ROOT / _option(args, "--file")).read_text())
                body_ = AgreementBody.model_validate(terms)
                view = await create_agreement(session, rt, OPERATOR, body_, any_party=True)
                agreement_id = UUID(view["id"])
            elif args[:2] == ["agreement", "approve"]:
                assert agreement_id is not None, "approve follows add"
                party = Actor(agency=_option(args, "--agency"), client=OPERATOR.client)
                person = {"name": _option(args, "--name"), "role": _option(args, "--role")}
                approval = AgreementApproval.model_validate({"approved_by": person})
                await approve_agreement(session, rt, party, agreement_id, approval)
        await session.commit()
    return credentials


async def _token(api: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = await api.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _posted_file(section: str) -> Path:
    match = re.search(r"\$IMB/v1/events .*?-d @(deploy/examples/\S+\.json)", section, re.DOTALL)
    assert match, "the README posts an event from deploy/examples/"
    return ROOT / match.group(1)


def _ack_body(section: str) -> Any:
    match = re.search(r"/ack .*?-d '(\{.*?\})'", section, re.DOTALL)
    assert match, "the README acknowledges with a JSON body"
    return json.loads(match.group(1))


async def test_the_readme_flow_delivers_an_event_and_sees_it_acknowledged(
    runtime: Runtime, api: httpx.AsyncClient, pipeline: None
) -> None:
    section = _trying_it()
    for step in ("/oauth/token", "grant_type=client_credentials", "?wait=30", "/ack"):
        assert step in section, step
    credentials = await _run_imb_commands(runtime, _commands(section))
    trust = await _token(api, *credentials["RX4"])
    council = await _token(api, *credentials["LA001"])

    event = json.loads(_posted_file(section).read_text())
    posted = await api.post("/v1/events", json=event, headers=trust)
    assert posted.status_code == 202, posted.text
    message_id = posted.json()["message_id"]

    async def inbox() -> list[dict[str, Any]]:
        page = await api.get("/v1/inbox", params={"wait": 30}, headers=council)
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    items = await eventually(inbox, bool, timeout=60)
    delivery_id = items[0]["delivery_id"]
    assert items[0]["message_id"] == message_id
    fetched = await api.get(f"/v1/inbox/{delivery_id}", headers=council)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["payload"] == event["payload"]
    acked = await api.post(f"/v1/inbox/{delivery_id}/ack", json=_ack_body(section), headers=council)
    assert acked.status_code == 200, acked.text

    status = await api.get(f"/v1/events/{message_id}", headers=trust)
    assert [r["status"] for r in status.json()["recipients"]] == ["acknowledged"]


async def test_every_example_event_is_accepted_and_a_second_post_is_the_same_message(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    credentials = await _run_imb_commands(runtime, _commands(_trying_it()))
    trust = await _token(api, *credentials["RX4"])
    for name in ("risk-changed", "disengagement", "crisis"):
        event = json.loads((ROOT / "deploy" / "examples" / f"{name}.json").read_text())

        first = await api.post("/v1/events", json=event, headers=trust)
        again = await api.post("/v1/events", json=event, headers=trust)

        assert first.status_code == 202, (name, first.text)
        assert again.json()["message_id"] == first.json()["message_id"], name
