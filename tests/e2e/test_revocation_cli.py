"""An administrator's commands for clients and people, against a served broker: what they
revoke stops working on the served process without a restart."""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey

from tests.e2e.processes import ImbInstallation, ServingImb

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.slow, ONE_DATABASE]
PASSWORD = "a long and private pass phrase"


@pytest.fixture
def served(installation: ImbInstallation) -> Iterator[ServingImb]:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    # A plain-HTTP client keeps no Secure cookie; the pages' own tests cover the cookie.
    installation.env["IMB_WEB__COOKIE_SECURE"] = "false"
    server = installation.serve()
    yield server
    server.stop()


def _refused_within(server: ServingImb, headers: dict[str, str], seconds: float) -> float:
    """How long until the served broker refuses the token (failing after `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if httpx.get(f"{server.base_url}/v1/inbox", headers=headers).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the token still worked after {seconds} s")


def test_revoking_and_rotating_from_the_command_line_bite_on_the_served_broker(
    installation: ImbInstallation, served: ServingImb
) -> None:
    revoked_id, revoked_secret = installation.add_client("RX4", "inbox:read")
    rotated_id, old_secret = installation.add_client("RX4", "inbox:read")
    doomed = served.bearer_headers(revoked_id, revoked_secret)
    replaced = served.bearer_headers(rotated_id, old_secret)
    assert httpx.get(f"{served.base_url}/v1/inbox", headers=doomed).status_code == 200

    installation.run("client", "revoke", revoked_id)
    rotated = json.loads(installation.run("client", "rotate-secret", rotated_id).stdout)
    listed = [
        json.loads(line)
        for line in installation.run("client", "list", "--json").stdout.splitlines()
    ]

    _refused_within(served, doomed, 5.0)
    _refused_within(served, replaced, 5.0)
    renewed = served.bearer_headers(rotated_id, rotated["client_secret"])
    assert httpx.get(f"{served.base_url}/v1/inbox", headers=renewed).status_code == 200
    by_id = {c["client_id"]: c for c in listed}
    assert by_id[revoked_id]["revoked_at"] and by_id[rotated_id]["credentials_version"] == 2
    assert old_secret not in json.dumps(listed) and rotated["client_secret"] not in json.dumps(
        listed
    )


def test_disabling_a_person_ends_their_served_session(
    installation: ImbInstallation, served: ServingImb
) -> None:
    installation.add_user("ig.trust", "RX4", "ig_lead", PASSWORD)
    with httpx.Client(base_url=served.base_url) as browser:
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        fields = {"username": "ig.trust", "password": PASSWORD, "csrf_token": token.group(1)}
        assert browser.post("/login", data=fields).status_code == 303
        assert browser.get("/ig/agreements").status_code == 200

        installation.run("user", "disable", "ig.trust")
        after = browser.get("/ig/agreements", follow_redirects=False)

    assert after.status_code == 303 and after.headers["location"] == "/login"
    [person] = [
        json.loads(line) for line in installation.run("user", "list", "--json").stdout.splitlines()
    ]
    assert person["username"] == "ig.trust" and person["disabled_at"]


def test_a_key_based_client_gets_no_secret_and_a_private_key_is_refused(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    key = ECKey.generate_key("P-256", parameters={"kid": "epr-1"})
    public, private = tmp_path / "public.jwk", tmp_path / "private.jwk"
    public.write_text(json.dumps(key.as_dict(private=False)))
    private.write_text(json.dumps(key.as_dict(private=True)))

    issued = json.loads(
        installation.run(
            "client", "add", "--agency", "RX4", "--scopes", "inbox:read", "--jwk", str(public)
        ).stdout
    )
    refused = installation.run(
        "client",
        "add",
        "--agency",
        "RX4",
        "--scopes",
        "inbox:read",
        "--jwk",
        str(private),
        check=False,
    )

    assert set(issued) == {"client_id"}
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "private key" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("client", "revoke", "imb_nobody"), "no such client"),
        (("client", "rotate-secret", "imb_nobody"), "no such client"),
        (("user", "disable", "nobody"), "no user nobody"),
        (
            ("client", "add", "--agency", "RX4", "--scopes", "inbox:read", "--tls-subject", "a b"),
            "distinguished name",
        ),
    ],
)
def test_unknown_clients_and_people_are_one_line_errors(
    installation: ImbInstallation, args: tuple[str, ...], message: str
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")

    result = installation.run(*args, check=False)

    assert result.returncode == 1
    assert result.stderr.startswith("imb: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
