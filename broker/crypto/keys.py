"""Key files under the keys directory, created on first run with owner-only permissions.

A key-encryption key (KEK) wraps each payload's data key (AES key wrap, RFC 3394). KEK ids
are a sequence (`kek-0001.key`, `kek-0002.key`, ...): the highest wraps new data keys and the
older ones still unwrap, so a KEK is rotated by adding a file. `KeyProvider` is the seam where
a cloud KMS would plug in.

The audit signing key (`audit-signing.key`, an Ed25519 seed) signs the audit chain's
checkpoints. Rotating it keeps the retired key's public half as `audit-verify-<key id>.pub`,
so checkpoints signed before the rotation still verify afterwards.
"""

import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from broker.crypto import DecryptionFailed, InsecureKeyFile, KeyNotFound, MalformedKeyFile

KEY_BYTES = 32  # AES-256 KEKs; HMAC-SHA256 keys as long as the hash output (RFC 2104 §3)
_KEK_PREFIX, _KEK_SUFFIX = "kek-", ".key"
_FIRST_KEK_ID = 1
_DIR_MODE, _FILE_MODE = 0o700, 0o600
_AUDIT_SIGNING = "audit-signing.key"
_RETIRED_PREFIX, _RETIRED_SUFFIX = "audit-verify-", ".pub"


class KeyProvider(Protocol):
    @property
    def current_kek_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes: ...


class FileKeyProvider:
    def __init__(self, keys_dir: Path) -> None:
        self._dir = keys_dir
        self._keks = _load_keks(keys_dir)
        if not self._keks:
            raise KeyNotFound(f"no key-encryption key in {keys_dir}")

    @property
    def current_kek_id(self) -> str:
        return max(self._keks, key=int)

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        kek_id = self.current_kek_id
        return kek_id, aes_key_wrap(self._keks[kek_id], data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        if kek_id not in self._keks:
            # Another process may have rotated in a KEK since this one started.
            self._keks = _load_keks(self._dir)
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyNotFound(f"no key-encryption key {kek_id!r}")
        try:
            return aes_key_unwrap(kek, wrapped)
        except (InvalidUnwrap, ValueError) as exc:
            raise DecryptionFailed("the data key does not unwrap") from exc


@dataclass(frozen=True)
class KeyMaterial:
    key_provider: FileKeyProvider
    pseudonym_key: bytes
    digest_key: bytes
    token_signing_key: OKPKey
    # Signs audit chain checkpoints; the key id is the public key's SHA-256, shortened.
    audit_signing_key: Ed25519PrivateKey
    audit_key_id: str
    # Every audit key's public half by key id, the current one and each retired one.
    audit_verify_keys: dict[str, Ed25519PublicKey]


def ensure_key_material(keys_dir: Path) -> KeyMaterial:
    keys_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    _refuse_if_open_to_others(keys_dir, _DIR_MODE)
    if not _load_keks(keys_dir):
        # A fixed first id, so that processes starting together race for one file, not two.
        _create_or_read(_kek_path(keys_dir, _FIRST_KEK_ID), _random_key)
    return KeyMaterial(
        key_provider=FileKeyProvider(keys_dir),
        pseudonym_key=_ensure_secret_key(keys_dir / "pseudonym.key"),
        digest_key=_ensure_secret_key(keys_dir / "digest.key"),
        token_signing_key=_signing_key(
            _create_or_read(keys_dir / "token-signing.jwk", _new_signing_jwk)
        ),
        **_audit_signing(keys_dir),
    )


def _audit_signing(keys_dir: Path) -> dict[str, Any]:
    key = Ed25519PrivateKey.from_private_bytes(_ensure_secret_key(keys_dir / _AUDIT_SIGNING))
    verify_keys = _retired_audit_keys(keys_dir)
    verify_keys[audit_key_id(key.public_key())] = key.public_key()
    return {
        "audit_signing_key": key,
        "audit_key_id": audit_key_id(key.public_key()),
        "audit_verify_keys": verify_keys,
    }


def audit_key_id(public: Ed25519PublicKey) -> str:
    """The public key's SHA-256, shortened: names the key in every checkpoint it signs."""
    return hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]


def _retired_audit_keys(keys_dir: Path) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for path in keys_dir.glob(f"{_RETIRED_PREFIX}*{_RETIRED_SUFFIX}"):
        try:
            public = Ed25519PublicKey.from_public_bytes(_read(path))
        except ValueError as exc:
            raise MalformedKeyFile(f"{path.name} is not an Ed25519 public key") from exc
        if path.name != f"{_RETIRED_PREFIX}{audit_key_id(public)}{_RETIRED_SUFFIX}":
            raise MalformedKeyFile(f"{path.name} does not hold the key its name gives")
        keys[audit_key_id(public)] = public
    return keys


def rotate_audit_signing_key(keys_dir: Path) -> tuple[str, str]:
    """A new audit signing key; the old one's public half is kept to verify what it signed.

    Returns (retired key id, new key id). The public half is on disk before the new seed
    replaces the old, so a crash between the two loses nothing.
    """
    old = _audit_signing(keys_dir)["audit_signing_key"].public_key()
    retired = audit_key_id(old)
    _publish(keys_dir / f"{_RETIRED_PREFIX}{retired}{_RETIRED_SUFFIX}", old.public_bytes_raw())
    _replace(keys_dir / _AUDIT_SIGNING, _random_key())
    new = Ed25519PrivateKey.from_private_bytes(_read(keys_dir / _AUDIT_SIGNING))
    return retired, audit_key_id(new.public_key())


def add_kek(keys_dir: Path) -> str:
    """A new current key-encryption key; the old ones keep unwrapping what they wrapped."""
    while True:
        kek_id = max(map(int, _load_keks(keys_dir)), default=0) + 1
        if _publish(_kek_path(keys_dir, kek_id), _random_key()):
            return _format_kek_id(kek_id)


def _kek_path(keys_dir: Path, kek_id: int) -> Path:
    return keys_dir / f"{_KEK_PREFIX}{_format_kek_id(kek_id)}{_KEK_SUFFIX}"


def _format_kek_id(kek_id: int) -> str:
    return f"{kek_id:04d}"


def _load_keks(keys_dir: Path) -> dict[str, bytes]:
    keks = {}
    for path in keys_dir.glob(f"{_KEK_PREFIX}*{_KEK_SUFFIX}"):
        kek_id = path.name[len(_KEK_PREFIX) : -len(_KEK_SUFFIX)]
        if not kek_id.isdecimal():
            raise MalformedKeyFile(f"{path.name}: a key-encryption key id must be a number")
        keks[kek_id] = _secret_key(_read(path), path)
    return keks


def _random_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _new_signing_jwk() -> bytes:
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    return json.dumps(key.as_dict(private=True)).encode()


def _ensure_secret_key(path: Path) -> bytes:
    return _secret_key(_create_or_read(path, _random_key), path)


def _secret_key(content: bytes, path: Path) -> bytes:
    if len(content) != KEY_BYTES:
        raise MalformedKeyFile(f"{path.name} holds {len(content)} bytes, not {KEY_BYTES}")
    return content


def _signing_key(content: bytes) -> OKPKey:
    try:
        key = OKPKey.import_key(json.loads(content))
    except (JoseError, ValueError, TypeError) as exc:
        raise MalformedKeyFile("token-signing.jwk is not an OKP JSON Web Key") from exc
    if key.curve_name != "Ed25519" or not key.is_private or not key.kid:
        raise MalformedKeyFile("token-signing.jwk must be a private Ed25519 key with a kid")
    return key


def _create_or_read(path: Path, make: Callable[[], bytes]) -> bytes:
    if not path.exists():
        content = make()
        if _publish(path, content):
            return content
    return _read(path)


def _publish(path: Path, content: bytes) -> bool:
    """Write `content` to `path` unless the path exists; True if this call created it.

    The content is written in full to a private temporary file that is then hard-linked into
    place: the link fails if the name exists, so of processes starting together exactly one
    wins, and no reader ever sees a half-written key.
    """
    temporary = _written_beside(path, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return True


def _written_beside(path: Path, content: bytes) -> Path:
    """`content` in full, synced, in a new private temporary file next to `path`."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _replace(path: Path, content: bytes) -> None:
    """Write `content` over `path` atomically: readers see the old file or the new, whole."""
    temporary = _written_beside(path, content)
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # A key lost in a crash after data was sealed under it would make that data unreadable.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read(path: Path) -> bytes:
    _refuse_if_open_to_others(path, _FILE_MODE)
    return path.read_bytes()


def _refuse_if_open_to_others(path: Path, allowed: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise InsecureKeyFile(
            f"{path} has mode {mode:o}; keys must not be open to others (chmod {allowed:o})"
        )
