"""Key files: created once, owner-only, shared safely by processes that start together."""

import json
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from broker.crypto import InsecureKeyFile, MalformedKeyFile
from broker.crypto.envelope import message_ad, open_sealed, seal
from broker.crypto.keys import KeyMaterial, ensure_key_material, rotate_audit_signing_key

T = TypeVar("T")


def _in_threads(count: int, load: Callable[[], T]) -> list[T]:
    results: list[T] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        results.append(load())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_first_run_creates_every_key_file(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"

    material = ensure_key_material(keys_dir)

    names = sorted(path.name for path in keys_dir.iterdir())
    assert names == [
        "audit-signing.key",
        "digest.key",
        "kek-0001.key",
        "pseudonym.key",
        "token-signing.jwk",
    ]
    assert len(material.pseudonym_key) == len(material.digest_key) == 32
    assert material.pseudonym_key != material.digest_key
    assert json.loads((keys_dir / "token-signing.jwk").read_text())["kid"]


def test_second_run_loads_the_same_keys(tmp_path: Path) -> None:
    first = ensure_key_material(tmp_path / "keys")

    second = ensure_key_material(tmp_path / "keys")

    assert second.pseudonym_key == first.pseudonym_key
    assert second.digest_key == first.digest_key
    assert second.token_signing_key.kid == first.token_signing_key.kid
    assert second.key_provider.current_kek_id == first.key_provider.current_kek_id


def test_key_files_are_owner_only(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"

    ensure_key_material(keys_dir)

    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    for path in keys_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


@pytest.mark.parametrize("name", ["pseudonym.key", "kek-0001.key", "token-signing.jwk"])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, name: str) -> None:
    keys_dir = tmp_path / "keys"
    ensure_key_material(keys_dir)
    os.chmod(keys_dir / name, 0o644)

    with pytest.raises(InsecureKeyFile, match=re.escape(name)):
        ensure_key_material(keys_dir)


def test_keys_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    ensure_key_material(keys_dir)
    os.chmod(keys_dir, 0o755)

    with pytest.raises(InsecureKeyFile):
        ensure_key_material(keys_dir)


def test_truncated_key_file_is_refused_rather_than_used(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    ensure_key_material(keys_dir)
    (keys_dir / "digest.key").write_bytes(b"short")

    with pytest.raises(MalformedKeyFile, match=re.escape("digest.key")):
        ensure_key_material(keys_dir)


def test_signing_key_file_that_is_not_a_private_ed25519_key_is_refused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    material = ensure_key_material(keys_dir)
    public_only = material.token_signing_key.as_dict(private=False)
    (keys_dir / "token-signing.jwk").write_text(json.dumps(public_only))

    with pytest.raises(MalformedKeyFile):
        ensure_key_material(keys_dir)


def test_processes_starting_together_agree_on_the_keys(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"

    loaded: list[KeyMaterial] = _in_threads(8, lambda: ensure_key_material(keys_dir))

    assert len({material.pseudonym_key for material in loaded}) == 1
    assert len({material.digest_key for material in loaded}) == 1
    assert len({material.token_signing_key.kid for material in loaded}) == 1
    assert len({material.key_provider.current_kek_id for material in loaded}) == 1


def test_processes_starting_together_open_each_others_sealed_values(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    ad = message_ad(uuid.uuid4())

    providers = [m.key_provider for m in _in_threads(8, lambda: ensure_key_material(keys_dir))]
    sealed = [seal(provider, b"payload", ad) for provider in providers]

    for provider in providers:
        assert all(open_sealed(provider, value, ad) == b"payload" for value in sealed)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"

    _in_threads(4, lambda: ensure_key_material(keys_dir))

    assert not [path.name for path in keys_dir.iterdir() if path.name.startswith(".")]


def test_rotating_the_audit_key_keeps_the_old_public_key_for_verifying(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    before = ensure_key_material(keys_dir)
    retired, current = rotate_audit_signing_key(keys_dir)
    after = ensure_key_material(keys_dir)

    assert (retired, current) == (before.audit_key_id, after.audit_key_id)
    assert retired != current
    assert set(after.audit_verify_keys) == {retired, current}
    old_signature = before.audit_signing_key.sign(b"checkpoint")
    after.audit_verify_keys[retired].verify(old_signature, b"checkpoint")  # raises if not
    assert stat.S_IMODE((keys_dir / f"audit-verify-{retired}.pub").stat().st_mode) == 0o600
    assert not list(keys_dir.glob(".*.tmp"))


def test_a_retired_audit_key_file_under_another_keys_name_is_refused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    ensure_key_material(keys_dir)
    retired, _ = rotate_audit_signing_key(keys_dir)
    (keys_dir / f"audit-verify-{retired}.pub").rename(keys_dir / "audit-verify-0000.pub")

    with pytest.raises(MalformedKeyFile, match="does not hold the key its name gives"):
        ensure_key_material(keys_dir)
