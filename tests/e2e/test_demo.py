"""`imb demo` as a newcomer runs it: a fresh database, the credentials it prints, and what
`imb serve` then shows on the same database."""

import re
from dataclasses import dataclass

import httpx
import pytest

from broker.db.models import Agency, AuditRecord, Client, Delivery, Message, User
from broker.runtime import Runtime
from schemas.nhs_number import validate_nhs_number
from tests.databases import PRODUCTION_LIKE, SQLITE_ONLY
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.rows import row_counts

CLIENT = re.compile(r"^  (\S+) +.+\n +client_id (\S+)  client_secret (\S+)$", re.MULTILINE)
LOGIN = re.compile(r"^  (\S+) +(ig_lead|duty|auditor|admin) +(\S+) +password (\S+)", re.MULTILINE)
PERSON = re.compile(r"^  (\d{10})  ", re.MULTILINE)
MESSAGE = re.compile(r"^ +message (\S+)$", re.MULTILINE)
ESCALATION = re.compile(r"escalation (\S+) is open")
TRUST, COUNCIL, HOUSING = "RZ9", "LAZ01", "HAZ01"

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]


@dataclass
class Printed:
    clients: dict[str, tuple[str, str]]
    passwords: dict[str, str]
    people: list[str]
    message_ids: list[str]
    escalation: str


def _read(output: str) -> Printed:
    escalation = ESCALATION.search(output)
    assert escalation, output
    return Printed(
        clients={code: (cid, secret) for code, cid, secret in CLIENT.findall(output)},
        passwords={user: password for user, _, _, password in LOGIN.findall(output)},
        people=PERSON.findall(output),
        message_ids=MESSAGE.findall(output),
        escalation=escalation.group(1),
    )


def _demo(installation: ImbInstallation, *options: str) -> Printed:
    return _read(installation.run("demo", *options).stdout)


def _get(served: ServingImb, headers: dict[str, str], path: str, **params: str) -> httpx.Response:
    response = httpx.get(f"{served.base_url}{path}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response


def _signed_in_page(served: ServingImb, username: str, password: str, path: str) -> str:
    with httpx.Client(base_url=served.base_url) as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        assert token
        fields = {"username": username, "password": password, "csrf_token": token.group(1)}
        assert browser.post("/login", data=fields).status_code == 303
        page = browser.get(path)
        assert page.status_code == 200, page.text
        return page.text


@pytest.mark.parametrize("database_url", PRODUCTION_LIKE, indirect=True)
def test_demo_seeds_a_partnership_whose_printed_credentials_work_against_imb_serve(
    installation: ImbInstallation,
) -> None:
    printed = _demo(installation)
    # A plain-HTTP server: httpx, unlike Chromium, keeps no Secure cookie from http://127.0.0.1.
    installation.env["IMB_WEB__COOKIE_SECURE"] = "false"
    served = installation.serve()
    try:
        trust, council, housing = (
            served.bearer_headers(*printed.clients[code]) for code in (TRUST, COUNCIL, HOUSING)
        )
        agreements = _get(served, trust, "/v1/agreements").json()["items"]
        sent = [_get(served, trust, f"/v1/events/{m}").json() for m in printed.message_ids[:2]]
        escalations = _get(served, council, "/v1/escalations", status="open").json()["items"]
        overrides = _get(served, housing, "/v1/overrides", status="open").json()["items"]
        duty_page = _signed_in_page(served, "duty.laz01", printed.passwords["duty.laz01"], "/duty")
    finally:
        served.stop()

    withheld, overridden = ({r["agency"]: r for r in s["recipients"]} for s in sent)
    assert set(printed.clients) == {TRUST, COUNCIL, HOUSING, "Y99901"}
    assert {"ig.lead.rz9", "duty.laz01", "auditor.rz9", "admin.rz9"} <= set(printed.passwords)
    assert all(validate_nhs_number(n) == n and n.startswith("999") for n in printed.people)
    assert sorted(a["status"] for a in agreements) == ["active", "active"]
    assert (withheld[HOUSING]["decision"], withheld[HOUSING]["reason"]) == (
        "deny",
        "consent_refused",
    )
    assert withheld[COUNCIL]["status"] == "delivered"
    assert overridden[HOUSING]["decision"] == "permit_override"
    assert overridden[HOUSING]["status"] == "delivered"
    assert [o["recipient"] for o in overrides] == [HOUSING]
    assert [(e["reference"], e["route"]) for e in escalations] == [
        (printed.escalation, "duty_team")
    ]
    assert printed.escalation in duty_page


@pytest.mark.parametrize("database_url", SQLITE_ONLY, indirect=True)
async def test_a_second_demo_refuses_and_changes_nothing_unless_forced(
    installation: ImbInstallation, runtime: Runtime
) -> None:
    first = _demo(installation)
    tables = (Agency, Client, User, Message, Delivery, AuditRecord)
    before = await row_counts(runtime, *tables)

    refused = installation.run("demo", check=False)
    after_refusal = await row_counts(runtime, *tables)
    forced = _demo(installation, "--force")

    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "imb: the database already has 4 agencies; imb demo seeds an empty one "
        "(--force adds a demo partnership beside them)"
    ]
    assert after_refusal == before
    assert set(forced.clients) == {"RZ9-2", "LAZ01-2", "HAZ01-2", "Y99901-2"}
    assert set(forced.people).isdisjoint(first.people)
    assert (await row_counts(runtime, Agency))["agencies"] == 8
