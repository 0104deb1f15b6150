"""Password hashes: scrypt from the standard library, its cost stored with each hash.

Stored form: ``scrypt$n=16384,r=8,p=1$<salt>$<key>`` (unpadded URL-safe base64), so the cost
can be raised later and older hashes still verify (and can be recognised for rehashing).
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache

SCHEME = "scrypt"
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_LENGTH = 12
# Long enough for any pass phrase; bounded so that a form cannot make the broker hash megabytes.
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**14
    r: int = 8
    p: int = 1

    def __str__(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"

    @property
    def maxmem(self) -> int:
        # OpenSSL needs 128·r·(n + p + 2) bytes; allow headroom over its exact sum.
        return 128 * self.r * (self.n + self.p + 2) + 2**20


CURRENT_COST = ScryptCost()
# A stored hash is trusted data, but a corrupt one must not make a sign-in allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


@dataclass(frozen=True)
class _Parsed:
    cost: ScryptCost
    salt: bytes
    key: bytes


def hash_password(password: str, cost: ScryptCost = CURRENT_COST) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, cost)
    return f"{SCHEME}${cost}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether the password matches; a malformed stored hash matches nothing."""
    parsed = _parse(stored)
    if parsed is None:
        _derive(password, secrets.token_bytes(SALT_BYTES), CURRENT_COST)  # same time spent
        return False
    return hmac.compare_digest(_derive(password, parsed.salt, parsed.cost), parsed.key)


def needs_rehash(stored: str) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed.cost != CURRENT_COST


@cache
def dummy_hash() -> str:
    """Verified against when a username is unknown, so that the answer takes as long."""
    return hash_password(secrets.token_urlsafe(32))


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    # NFC: the same pass phrase typed on two keyboards may arrive composed differently.
    secret = unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")
    return hashlib.scrypt(
        secret, salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.maxmem, dklen=KEY_BYTES
    )


def _parse(stored: str) -> _Parsed | None:
    try:
        scheme, params, salt, key = stored.split("$")
        values = dict(part.split("=", 1) for part in params.split(","))
        cost = ScryptCost(n=int(values["n"]), r=int(values["r"]), p=int(values["p"]))
        parsed = _Parsed(cost, _unb64(salt), _unb64(key))
    except (ValueError, KeyError, binascii.Error):
        return None
    if scheme != SCHEME or not _sane(cost) or len(parsed.key) != KEY_BYTES:
        return None
    return parsed


def _sane(cost: ScryptCost) -> bool:
    power_of_two = cost.n > 1 and cost.n & (cost.n - 1) == 0
    return power_of_two and cost.n <= _MAX_N and 0 < cost.r <= _MAX_R and 0 < cost.p <= _MAX_P


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
