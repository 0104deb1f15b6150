"""The example bodies in deploy/examples/ that the README posts are valid requests."""

import json
from pathlib import Path

from broker.api.examples import EVENT_FILES
from schemas.agreements import AgreementBody
from schemas.events import EVENT_SUBMISSION
from schemas.nhs_number import nhs_check_digit

EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "examples"


def test_every_example_file_is_valid_against_its_model() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert {f.stem for f in files} >= {"agreement", *EVENT_FILES}
    for path in files:
        body = json.loads(path.read_text())
        if path.stem == "agreement":
            AgreementBody.model_validate(body)
        else:
            EVENT_SUBMISSION.validate_python(body)


def test_example_events_are_about_a_person_who_cannot_exist() -> None:
    for name in EVENT_FILES:
        number = json.loads((EXAMPLES / f"{name}.json").read_text())["subject"]["nhs_number"]
        assert number.startswith("999"), name  # never issued to a patient
        assert nhs_check_digit(number[:9]) == int(number[9]), name
