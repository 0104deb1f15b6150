"""AES-256-GCM envelope encryption: a fresh data key per sealing, wrapped by a KEK.

Associated data binds a ciphertext to where it belongs (a message; a message and one
recipient), so a ciphertext copied onto another row or record does not open.
"""

import base64
import os
import struct
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from broker.crypto import DecryptionFailed
from broker.crypto.keys import KeyProvider

_VERSION = 1
_NONCE_BYTES = 12  # 96-bit nonces: GCM's native size (NIST SP 800-38D)
_TAG_BYTES = 16
_HEADER = struct.Struct(">BHH")  # version, length of the KEK id, length of the wrapped key


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        kek = self.kek_id.encode()
        header = _HEADER.pack(_VERSION, len(kek), len(self.wrapped_key))
        return header + kek + self.wrapped_key + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Sealed":
        try:
            version, kek_len, key_len = _HEADER.unpack_from(blob)
        except struct.error as exc:
            raise DecryptionFailed("not a sealed value") from exc
        if version != _VERSION:
            raise DecryptionFailed(f"unknown sealed format {version}")
        at = _HEADER.size
        kek_id, wrapped = blob[at : at + kek_len], blob[at + kek_len : at + kek_len + key_len]
        at += kek_len + key_len
        nonce, ciphertext = blob[at : at + _NONCE_BYTES], blob[at + _NONCE_BYTES :]
        if len(ciphertext) < _TAG_BYTES:
            raise DecryptionFailed("not a sealed value: too short")
        return cls(_text(kek_id), wrapped, nonce, ciphertext)

    def to_json(self) -> dict[str, Any]:
        encode = base64.b64encode
        return {
            "v": _VERSION,
            "kek": self.kek_id,
            "key": encode(self.wrapped_key).decode(),
            "nonce": encode(self.nonce).decode(),
            "ct": encode(self.ciphertext).decode(),
        }

    @classmethod
    def from_json(cls, value: object) -> "Sealed":
        if not isinstance(value, dict) or value.get("v") != _VERSION:
            raise DecryptionFailed("not a sealed value of a known format")
        try:
            decode = partial(base64.b64decode, validate=True)
            sealed = cls(
                str(value["kek"]), decode(value["key"]), decode(value["nonce"]), decode(value["ct"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecryptionFailed("not a sealed value") from exc
        if len(sealed.nonce) != _NONCE_BYTES or len(sealed.ciphertext) < _TAG_BYTES:
            raise DecryptionFailed("not a sealed value: too short")
        return sealed


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise DecryptionFailed("not a sealed value") from exc


def seal(provider: KeyProvider, plaintext: bytes, associated_data: bytes) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated_data)
    kek_id, wrapped = provider.wrap(data_key)
    return Sealed(kek_id, wrapped, nonce, ciphertext)


def open_sealed(provider: KeyProvider, sealed: Sealed, associated_data: bytes) -> bytes:
    data_key = provider.unwrap(sealed.kek_id, sealed.wrapped_key)
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, associated_data)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("the sealed value does not open here") from exc


def message_ad(message_id: UUID) -> bytes:
    return b"imb:v1:message:" + str(message_id).encode()


def delivery_ad(message_id: UUID, recipient: str) -> bytes:
    return b"imb:v1:delivery:" + str(message_id).encode() + b":" + recipient.encode()
