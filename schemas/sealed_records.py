"""The `kafka` channel's records: a CloudEvent whose content is sealed to the agency.

Sealing is HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
AES-256-GCM: an ephemeral X25519 key per record, agreed with the agency's registered public
key, so that only the holder of the agency's private key can open a record, even with read
access to the topic. HPKE rather than a bespoke construction because an EPR integrator can
open it with any HPKE library (Java, .NET, Go, Rust) from the RFC alone.

HPKE's `info` binds each record to its agency and delivery id: a record copied to another
agency's topic, or given another id, does not open. The sealed bytes are `enc || ciphertext`
as RFC 9180 writes them, carried as the CloudEvent's `data_base64`; opened, they are the JSON
document `GET /v1/inbox/{id}` returns for the delivery, or that delivery in the channel's
format (a FHIR message): the record's `imbcontenttype` says which.

Both sides use this module: the broker seals (`seal_for_agency`), the client SDK opens.
"""

import base64
import binascii
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

SEALING = "hpke-base-x25519-sha256-aes256gcm"
SEALED_CONTENT_TYPE = "application/octet-stream"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class SealedRecordUnreadable(Exception):
    """The record was not sealed to this key, or not for this agency and delivery, or was
    altered."""


def binding(agency: str, delivery_id: UUID | str) -> bytes:
    """HPKE `info`: what a sealed record belongs to."""
    return f"imb:v1:agency-record:{agency}:{delivery_id}".encode()


def seal_for_agency(public_key: str, agency: str, delivery_id: UUID, content: bytes) -> bytes:
    return _SUITE.encrypt(content, public_key_from(public_key), info=binding(agency, delivery_id))


def open_for_agency(
    private_key: X25519PrivateKey, agency: str, delivery_id: UUID | str, sealed: bytes
) -> bytes:
    try:
        return _SUITE.decrypt(sealed, private_key, info=binding(agency, delivery_id))
    except (InvalidTag, ValueError) as exc:
        raise SealedRecordUnreadable(
            f"the record for delivery {delivery_id} does not open with this key for {agency}"
        ) from exc


def public_key_from(encoded: str) -> X25519PublicKey:
    """An X25519 public key from its 32 raw bytes in base64url (padding optional)."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return X25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not an X25519 public key (32 bytes, base64url)") from exc


def usable_public_key(encoded: str) -> str:
    """The key, if records can be sealed to it: a low-order point (all zeros, say) decodes
    but agrees no secret, and would fail every record rather than the request that set it."""
    key = public_key_from(encoded)
    try:
        _SUITE.encrypt(b"", key, info=b"imb:v1:key-check")
    except ValueError as exc:
        raise ValueError("this X25519 public key agrees no secret (a low-order point)") from exc
    return encoded


def encoded_public_key(key: X25519PublicKey) -> str:
    """The form `PUT /v1/agencies/{code}/channel` takes: 32 raw bytes, base64url."""
    return base64.urlsafe_b64encode(key.public_bytes_raw()).decode().rstrip("=")
