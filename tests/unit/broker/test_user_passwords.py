"""Password hashes: scrypt with its cost in the stored string, so it can be raised later."""

from broker.users.passwords import (
    ScryptCost,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)

PASS_PHRASE = "correct horse battery staple"


def test_a_hash_names_its_cost_and_verifies_only_its_password() -> None:
    stored = hash_password(PASS_PHRASE)

    assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    assert PASS_PHRASE not in stored
    assert verify_password(PASS_PHRASE, stored)
    assert not verify_password(PASS_PHRASE + " ", stored)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password(PASS_PHRASE) != hash_password(PASS_PHRASE)


def test_a_hash_at_an_older_cost_still_verifies_and_asks_to_be_redone() -> None:
    older = hash_password(PASS_PHRASE, ScryptCost(n=2**12, r=8, p=1))

    assert verify_password(PASS_PHRASE, older)
    assert needs_rehash(older)
    assert not needs_rehash(hash_password(PASS_PHRASE))


def test_a_corrupt_or_absurd_stored_hash_matches_nothing() -> None:
    good = hash_password(PASS_PHRASE)
    scheme, _, salt, key = good.split("$")
    for broken in (
        "",
        "sha256$abc",
        f"{scheme}$n=3,r=8,p=1${salt}${key}",  # n must be a power of two
        f"{scheme}$n={2**30},r=8,p=1${salt}${key}",  # would allocate gigabytes
        f"{scheme}$n=16384,r=8,p=1${salt}${key[:-4]}",
        f"{scheme}$n=16384,r=8,p=1${salt}$!!!",
    ):
        assert not verify_password(PASS_PHRASE, broken)


def test_the_dummy_hash_verifies_no_password() -> None:
    assert not verify_password(PASS_PHRASE, dummy_hash())
    assert not verify_password("", dummy_hash())


def test_composed_and_decomposed_accents_are_the_same_password() -> None:
    stored = hash_password("caf\u00e9 au lait, please")

    assert verify_password("cafe\u0301 au lait, please", stored)
