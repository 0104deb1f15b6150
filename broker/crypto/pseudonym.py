"""Keyed pseudonyms and digests, and the one canonical JSON encoding they are computed over."""

import hashlib
import hmac
import json


class Pseudonymiser:
    """HMAC-SHA256 of an NHS number: stable for lookups, meaningless without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def pseudonym(self, nhs_number: str) -> str:
        return hmac.new(
            self._key, b"imb:v1:subject:" + nhs_number.encode(), hashlib.sha256
        ).hexdigest()


def payload_digest(key: bytes, canonical: bytes) -> str:
    """Keyed, because structured clinical payloads have little entropy: a plain hash of one
    could be reversed by hashing guesses."""
    return "hmac-sha256:" + hmac.new(key, canonical, hashlib.sha256).hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
