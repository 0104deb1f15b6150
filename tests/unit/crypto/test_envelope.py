"""Envelope encryption, key files and pseudonyms."""

import os
import stat
import threading
import uuid
from pathlib import Path

import pytest

from broker.crypto import DecryptionFailed, InsecureKeyFile, KeyNotFound
from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.crypto.keys import add_kek, ensure_key_material
from broker.crypto.pseudonym import Pseudonymiser, canonical_json, payload_digest

MESSAGE = uuid.uuid4()


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def test_sealed_value_opens_only_with_its_associated_data(keys_dir: Path) -> None:
    provider = ensure_key_material(keys_dir).key_provider
    sealed = seal(provider, b"risk rose to high", message_ad(MESSAGE))

    assert b"risk" not in sealed.to_bytes()
    assert (
        open_sealed(provider, Sealed.from_bytes(sealed.to_bytes()), message_ad(MESSAGE))
        == b"risk rose to high"
    )
    assert (
        open_sealed(provider, Sealed.from_json(sealed.to_json()), message_ad(MESSAGE))
        == b"risk rose to high"
    )
    with pytest.raises(DecryptionFailed):
        open_sealed(provider, sealed, message_ad(uuid.uuid4()))
    with pytest.raises(DecryptionFailed):
        open_sealed(provider, sealed, delivery_ad(MESSAGE, "LA001"))


def test_tampered_ciphertext_does_not_open(keys_dir: Path) -> None:
    provider = ensure_key_material(keys_dir).key_provider
    sealed = seal(provider, b"payload", message_ad(MESSAGE))
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(DecryptionFailed):
        open_sealed(
            provider,
            Sealed(sealed.kek_id, sealed.wrapped_key, sealed.nonce, flipped),
            message_ad(MESSAGE),
        )


def test_each_sealing_uses_a_fresh_key_and_nonce(keys_dir: Path) -> None:
    provider = ensure_key_material(keys_dir).key_provider
    first, second = (seal(provider, b"same", message_ad(MESSAGE)) for _ in range(2))
    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce


def test_another_brokers_keys_cannot_open(tmp_path: Path) -> None:
    ours = ensure_key_material(tmp_path / "ours").key_provider
    theirs = ensure_key_material(tmp_path / "theirs").key_provider
    sealed = seal(ours, b"payload", message_ad(MESSAGE))
    with pytest.raises(KeyNotFound):
        open_sealed(theirs, sealed, message_ad(MESSAGE))


def test_rotated_kek_wraps_new_keys_and_old_ciphertext_still_opens(keys_dir: Path) -> None:
    before = ensure_key_material(keys_dir).key_provider
    old = seal(before, b"old", message_ad(MESSAGE))
    add_kek(keys_dir)
    after = ensure_key_material(keys_dir).key_provider

    assert after.current_kek_id != before.current_kek_id
    assert seal(after, b"new", message_ad(MESSAGE)).kek_id == after.current_kek_id
    assert open_sealed(after, old, message_ad(MESSAGE)) == b"old"


def test_key_files_are_owner_only(keys_dir: Path) -> None:
    ensure_key_material(keys_dir)
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    for path in keys_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_key_file_readable_by_others_is_refused(keys_dir: Path) -> None:
    ensure_key_material(keys_dir)
    os.chmod(keys_dir / "pseudonym.key", 0o644)
    with pytest.raises(InsecureKeyFile):
        ensure_key_material(keys_dir)


def test_processes_starting_together_agree_on_the_keys(keys_dir: Path) -> None:
    results: list[bytes] = []

    def load() -> None:
        results.append(ensure_key_material(keys_dir).pseudonym_key)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


def test_pseudonym_is_stable_keyed_and_not_the_number() -> None:
    ours, theirs = Pseudonymiser(b"k" * 32), Pseudonymiser(b"x" * 32)
    assert ours.pseudonym("9434765919") == ours.pseudonym("9434765919")
    assert ours.pseudonym("9434765919") != theirs.pseudonym("9434765919")
    assert "9434765919" not in ours.pseudonym("9434765919")


def test_digest_is_keyed_and_canonical() -> None:
    a = canonical_json({"b": 1, "a": [1, 2]})
    b = canonical_json({"a": [1, 2], "b": 1})
    assert a == b
    assert payload_digest(b"k" * 32, a) != payload_digest(b"x" * 32, a)
