"""`imb agency channel` and `imb dead-letters`: an administrator chooses an agency's delivery
channel and re-drives dead letters from the command line; the signing secret is printed once,
and bad input is one line that writes nothing."""

import json

import pytest

from tests.e2e.processes import ImbInstallation
from tests.e2e.test_cli import _select

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
URL = "https://epr.council.example/imb"


@pytest.fixture
def council(installation: ImbInstallation) -> ImbInstallation:
    installation.run("agency", "add", "LA001", "--name", "Council", "--kind", "local_authority")
    return installation


def test_a_webhook_channel_prints_its_secret_once_and_rotates(council: ImbInstallation) -> None:
    set_ = json.loads(
        council.run("agency", "channel", "LA001", "--kind", "webhook", "--url", URL).stdout
    )
    rotated = json.loads(
        council.run(
            "agency", "channel", "LA001", "--kind", "webhook", "--url", URL, "--rotate-secret"
        ).stdout
    )

    assert set_["url"] == URL and set_["secret"].startswith("whsec_")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != set_["secret"]
    assert rotated["previous_secret_valid_until"] is not None
    [row] = _select(council, "SELECT * FROM delivery_channels")
    assert all(secret not in str(row) for secret in (set_["secret"], rotated["secret"]))


def test_a_channel_pushes_in_the_format_chosen(council: ImbInstallation) -> None:
    set_ = json.loads(
        council.run(
            "agency", "channel", "LA001", "--kind", "webhook", "--url", URL, "--format", "fhir"
        ).stdout
    )

    assert set_["format"] == "fhir"
    assert _select(council, "SELECT format FROM delivery_channels") == [("fhir",)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("LA001", "--kind", "webhook", "--url", "http://epr.council.example/imb"), "https://"),
        (("LA001", "--kind", "webhook"), "needs url"),
        (("LA001", "--kind", "kafka", "--public-key", "AAAA"), "32 bytes"),
        (("NOPE1", "--kind", "webhook", "--url", URL), "unknown agency"),
        (("LA001", "--kind", "webhook", "--url", URL, "--format", "hl7v2"), "unknown format"),
        (("LA001", "--kind", "inbox", "--format", "fhir"), "format is only for"),
    ],
)
def test_bad_channels_are_one_line_errors_that_write_nothing(
    council: ImbInstallation, args: tuple[str, ...], message: str
) -> None:
    result = council.run("agency", "channel", *args, check=False)

    assert result.returncode != 0
    assert result.stderr.startswith("imb: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert _select(council, "SELECT count(*) FROM delivery_channels") == [(0,)]
    assert _select(council, "SELECT count(*) FROM audit_records WHERE event = 'channel.set'") == [
        (0,)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("redrive", "not-an-id"), "not a delivery id"),
        (("redrive", "0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001"), "no dead letter"),
    ],
)
def test_redriving_what_is_no_dead_letter_is_a_one_line_error(
    council: ImbInstallation, args: tuple[str, ...], message: str
) -> None:
    result = council.run("dead-letters", *args, check=False)

    assert result.returncode != 0
    assert result.stderr.startswith("imb: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert council.run("dead-letters", "list", "--json").stdout == ""
