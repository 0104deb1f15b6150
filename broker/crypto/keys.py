"""Key files under the keys directory, created on first run with owner-only permissions.

A key-encryption key (KEK) wraps each payload's data key (AES key wrap, RFC 3394); several
KEKs may exist, the newest wrapping new data keys and the older ones still unwrapping, so a KEK
can be rotated by adding a file. `KeyProvider` is the seam where a cloud KMS would plug in.
"""

import json
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)
from joserfc.jwk import OKPKey

from broker.crypto import DecryptionFailed, InsecureKeyFile, KeyNotFound

KEY_BYTES = 32
_KEK_PREFIX, _KEK_SUFFIX = "kek-", ".key"


class KeyProvider(Protocol):
    @property
    def current_kek_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes: ...


class FileKeyProvider:
    def __init__(self, keks: dict[str, bytes]) -> None:
        if not keks:
            raise KeyNotFound("no key-encryption key")
        self._keks = dict(keks)
        self._current = max(keks)  # ids sort by creation time

    @property
    def current_kek_id(self) -> str:
        return self._current

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        return self._current, aes_key_wrap(self._keks[self._current], data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyNotFound(f"no key-encryption key {kek_id!r}")
        try:
            return aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap as exc:
            raise DecryptionFailed("the data key does not unwrap") from exc


@dataclass(frozen=True)
class KeyMaterial:
    key_provider: FileKeyProvider
    pseudonym_key: bytes
    digest_key: bytes
    token_signing_key: OKPKey


def ensure_key_material(keys_dir: Path) -> KeyMaterial:
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _refuse_if_open_to_others(keys_dir, 0o700)
    keks = _load_keks(keys_dir)
    if not keks:
        kek_id = _timestamp_id()
        keks = {kek_id: _create_or_read(keys_dir / f"{_KEK_PREFIX}{kek_id}{_KEK_SUFFIX}", _random)}
    return KeyMaterial(
        key_provider=FileKeyProvider(keks),
        pseudonym_key=_create_or_read(keys_dir / "pseudonym.key", _random),
        digest_key=_create_or_read(keys_dir / "digest.key", _random),
        token_signing_key=OKPKey.import_key(
            json.loads(_create_or_read(keys_dir / "token-signing.jwk", _new_signing_jwk))
        ),
    )


def add_kek(keys_dir: Path) -> str:
    """A new current key-encryption key; the old ones keep unwrapping what they wrapped."""
    kek_id = _timestamp_id()
    _create_or_read(keys_dir / f"{_KEK_PREFIX}{kek_id}{_KEK_SUFFIX}", _random)
    return kek_id


def _timestamp_id() -> str:
    return f"{time.time_ns():020d}"


def _load_keks(keys_dir: Path) -> dict[str, bytes]:
    return {
        path.name[len(_KEK_PREFIX) : -len(_KEK_SUFFIX)]: _read(path)
        for path in sorted(keys_dir.glob(f"{_KEK_PREFIX}*{_KEK_SUFFIX}"))
    }


def _random() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _new_signing_jwk() -> bytes:
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    return json.dumps(key.as_dict(private=True)).encode()


def _create_or_read(path: Path, make: Callable[[], bytes]) -> bytes:
    """Create the file with 0600 atomically (O_EXCL), or read it if another process won."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    content = make()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return content


def _read(path: Path) -> bytes:
    _refuse_if_open_to_others(path, 0o600)
    for _ in range(50):  # another process may be between O_EXCL and its write
        content = path.read_bytes()
        if content:
            return content
        time.sleep(0.01)
    raise InsecureKeyFile(f"{path} is empty")


def _refuse_if_open_to_others(path: Path, allowed: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise InsecureKeyFile(
            f"{path} has mode {mode:o}; keys must not be readable by others (chmod {allowed:o})"
        )
