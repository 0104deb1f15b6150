"""Pseudonyms, payload digests and the canonical JSON they are computed over."""

import re

from broker.crypto.pseudonym import Pseudonymiser, canonical_json, payload_digest

NHS_NUMBER = "9434765919"
OUR_KEY, OTHER_KEY = b"k" * 32, b"x" * 32


def test_pseudonym_is_stable_for_the_same_key() -> None:
    assert Pseudonymiser(OUR_KEY).pseudonym(NHS_NUMBER) == Pseudonymiser(OUR_KEY).pseudonym(
        NHS_NUMBER
    )


def test_pseudonym_depends_on_the_key_and_hides_the_number() -> None:
    ours = Pseudonymiser(OUR_KEY).pseudonym(NHS_NUMBER)

    assert ours != Pseudonymiser(OTHER_KEY).pseudonym(NHS_NUMBER)
    assert NHS_NUMBER not in ours
    assert re.fullmatch(r"[0-9a-f]{64}", ours)


def test_different_people_have_different_pseudonyms() -> None:
    pseudonymiser = Pseudonymiser(OUR_KEY)

    assert pseudonymiser.pseudonym(NHS_NUMBER) != pseudonymiser.pseudonym("4010232137")


def test_pseudonym_is_not_the_payload_digest_of_the_same_bytes() -> None:
    pseudonym = Pseudonymiser(OUR_KEY).pseudonym(NHS_NUMBER)

    assert payload_digest(OUR_KEY, NHS_NUMBER.encode()) != f"hmac-sha256:{pseudonym}"


def test_canonical_json_ignores_key_order_and_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'


def test_canonical_json_keeps_non_ascii_text_as_utf8() -> None:
    assert canonical_json({"name": "Siân"}) == '{"name":"Siân"}'.encode()


def test_payload_digest_is_keyed_and_labelled() -> None:
    canonical = canonical_json({"level": "high"})

    ours = payload_digest(OUR_KEY, canonical)

    assert ours.startswith("hmac-sha256:")
    assert ours == payload_digest(OUR_KEY, canonical)
    assert ours != payload_digest(OTHER_KEY, canonical)
    assert ours != payload_digest(OUR_KEY, canonical_json({"level": "low"}))
