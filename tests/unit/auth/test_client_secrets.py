"""Client ids and secrets: only a hash is kept, and it verifies only the secret it came from."""

import re

from broker.auth.secrets import (
    DUMMY_SECRET_HASH,
    generate_client_id,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)


def test_secret_verifies_against_its_own_hash() -> None:
    secret = generate_client_secret()

    assert verify_client_secret(secret, hash_client_secret(secret))


def test_wrong_secret_does_not_verify() -> None:
    stored = hash_client_secret(generate_client_secret())

    assert not verify_client_secret(generate_client_secret(), stored)
    assert not verify_client_secret("", stored)


def test_hash_never_contains_the_secret() -> None:
    secret = generate_client_secret()

    stored = hash_client_secret(secret)

    assert secret not in stored
    assert re.fullmatch(r"sha256\$[0-9a-f]{64}", stored)


def test_secrets_carry_256_bits_and_are_url_safe() -> None:
    secrets = {generate_client_secret() for _ in range(100)}

    assert len(secrets) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,}", secret) for secret in secrets)


def test_client_ids_are_prefixed_and_distinct() -> None:
    ids = {generate_client_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(re.fullmatch(r"imb_[A-Za-z0-9_-]+", client_id) for client_id in ids)


def test_dummy_hash_does_not_verify_generated_or_empty_secrets() -> None:
    assert not verify_client_secret(generate_client_secret(), DUMMY_SECRET_HASH)
    assert not verify_client_secret("", DUMMY_SECRET_HASH)


def test_malformed_secret_is_refused_rather_than_raising() -> None:
    stored = hash_client_secret(generate_client_secret())

    assert not verify_client_secret("\ud800", stored)
    assert not verify_client_secret("a-secret", "md5$not-our-scheme")
