"""Client identifiers and secrets; only a hash of a secret is ever stored."""

import hashlib
import hmac
import secrets

_SCHEME = "sha256$"


def generate_client_id() -> str:
    return "imb_" + secrets.token_urlsafe(12)


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def hash_client_secret(secret: str) -> str:
    # The secrets are 256-bit random values, not passwords: nothing can be guessed, so one
    # SHA-256 is enough and password stretching would only slow every token request.
    # surrogatepass: a malformed secret must hash (and fail to verify), not raise.
    return _SCHEME + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def verify_client_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_client_secret(secret).encode(), stored_hash.encode())


# Compared against when a client id is unknown, so that the answer takes the same time.
DUMMY_SECRET_HASH = hash_client_secret(secrets.token_urlsafe(32))
