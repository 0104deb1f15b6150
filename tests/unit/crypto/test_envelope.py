"""Envelope encryption: what seals under one message and recipient opens only there."""

import uuid
from pathlib import Path

import pytest

from broker.crypto import DecryptionFailed, KeyNotFound
from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.crypto.keys import FileKeyProvider, add_kek, ensure_key_material

MESSAGE = uuid.uuid4()
SECRET = b"risk rose to high after the home visit"


@pytest.fixture
def provider(tmp_path: Path) -> FileKeyProvider:
    return ensure_key_material(tmp_path / "keys").key_provider


def _flip_first_bit(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_sealed_value_round_trips_through_bytes_and_json(provider: FileKeyProvider) -> None:
    sealed = seal(provider, SECRET, message_ad(MESSAGE))

    from_column = Sealed.from_bytes(sealed.to_bytes())
    from_record = Sealed.from_json(sealed.to_json())

    assert from_column == sealed and from_record == sealed
    assert open_sealed(provider, from_column, message_ad(MESSAGE)) == SECRET
    assert sealed.to_json()["v"] == 1


def test_sealed_value_does_not_show_its_plaintext(provider: FileKeyProvider) -> None:
    sealed = seal(provider, SECRET, message_ad(MESSAGE))

    assert b"risk rose" not in sealed.to_bytes()
    assert "risk rose" not in str(sealed.to_json())


def test_value_sealed_for_one_message_does_not_open_for_another(
    provider: FileKeyProvider,
) -> None:
    sealed = seal(provider, SECRET, message_ad(MESSAGE))

    with pytest.raises(DecryptionFailed):
        open_sealed(provider, sealed, message_ad(uuid.uuid4()))


def test_value_sealed_for_one_recipient_does_not_open_for_another(
    provider: FileKeyProvider,
) -> None:
    sealed = seal(provider, SECRET, delivery_ad(MESSAGE, "RX4"))

    with pytest.raises(DecryptionFailed):
        open_sealed(provider, sealed, delivery_ad(MESSAGE, "LA001"))
    with pytest.raises(DecryptionFailed):
        open_sealed(provider, sealed, message_ad(MESSAGE))


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "wrapped_key"])
def test_tampered_sealed_value_does_not_open(provider: FileKeyProvider, part: str) -> None:
    sealed = seal(provider, SECRET, message_ad(MESSAGE))
    fields = {**vars(sealed), part: _flip_first_bit(getattr(sealed, part))}

    with pytest.raises(DecryptionFailed) as failure:
        open_sealed(provider, Sealed(**fields), message_ad(MESSAGE))

    assert "risk" not in str(failure.value)


def test_each_sealing_uses_a_fresh_data_key_and_nonce(provider: FileKeyProvider) -> None:
    first, second = (seal(provider, b"same", message_ad(MESSAGE)) for _ in range(2))

    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce
    assert len(first.nonce) == 12


def test_another_brokers_keys_cannot_open(tmp_path: Path) -> None:
    ours = ensure_key_material(tmp_path / "ours").key_provider
    theirs = ensure_key_material(tmp_path / "theirs").key_provider
    sealed = seal(ours, SECRET, message_ad(MESSAGE))

    with pytest.raises(DecryptionFailed):
        open_sealed(theirs, sealed, message_ad(MESSAGE))


def test_unknown_key_encryption_key_is_named_in_a_clear_error(
    provider: FileKeyProvider,
) -> None:
    sealed = seal(provider, SECRET, message_ad(MESSAGE))
    elsewhere = Sealed("0999", sealed.wrapped_key, sealed.nonce, sealed.ciphertext)

    with pytest.raises(KeyNotFound, match="0999"):
        open_sealed(provider, elsewhere, message_ad(MESSAGE))


def test_rotated_kek_wraps_new_keys_and_old_ciphertext_still_opens(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    before = ensure_key_material(keys_dir).key_provider
    old = seal(before, b"old", message_ad(MESSAGE))

    add_kek(keys_dir)
    after = ensure_key_material(keys_dir).key_provider

    assert after.current_kek_id != before.current_kek_id
    assert seal(after, b"new", message_ad(MESSAGE)).kek_id == after.current_kek_id
    assert open_sealed(after, old, message_ad(MESSAGE)) == b"old"


def test_process_started_before_a_rotation_opens_values_sealed_after_it(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    running = ensure_key_material(keys_dir).key_provider

    add_kek(keys_dir)
    restarted = ensure_key_material(keys_dir).key_provider
    sealed = seal(restarted, b"new", message_ad(MESSAGE))

    assert open_sealed(running, sealed, message_ad(MESSAGE)) == b"new"


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x01", b"\x02\x00\x00\x00\x00" + bytes(40), b"\x01\x00\x04\x00\x28" + bytes(20)],
    ids=["empty", "header-only", "unknown-version", "truncated"],
)
def test_bytes_that_are_not_a_sealed_value_are_refused(blob: bytes) -> None:
    with pytest.raises(DecryptionFailed):
        Sealed.from_bytes(blob)


@pytest.mark.parametrize(
    "change",
    [{"v": 2}, {"v": None}, {"ct": "not base64!"}, {"nonce": "AAAA"}, {"key": None}],
    ids=["future-version", "no-version", "bad-base64", "short-nonce", "missing-key"],
)
def test_records_that_are_not_a_sealed_value_are_refused(
    provider: FileKeyProvider, change: dict[str, object]
) -> None:
    record = {**seal(provider, SECRET, message_ad(MESSAGE)).to_json(), **change}

    with pytest.raises(DecryptionFailed):
        Sealed.from_json(record)
