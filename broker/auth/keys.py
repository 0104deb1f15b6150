"""Clients' public keys: which registered keys are acceptable, and where a key set may live."""

from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import JWKRegistry, Key, KeySet

from broker.addresses import is_loopback

# Asymmetric keys only: a shared ("oct") key would let the broker, or anyone who read the
# database, sign as the client, which is the very thing private_key_jwt rules out.
ASYMMETRIC = {"RSA", "EC", "OKP"}


def public_key_set_problems(jwks: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, problem) for each key of the set that cannot serve as a client's public key."""
    problems = []
    for index, entry in enumerate(jwks.get("keys", [])):
        problem = _key_problem(entry)
        if problem:
            problems.append((index, problem))
    entries = jwks.get("keys", [])
    if len(entries) > 1 and not all(isinstance(k, dict) and k.get("kid") for k in entries):
        problems.append((0, "each key of a set of several needs a kid"))
    return problems


def _key_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC:
        return "must be an RSA, EC or OKP public key"
    try:
        key = JWKRegistry.import_key(entry)
    except Exception:  # joserfc raises several kinds for a malformed key; all mean the same
        return "is not a valid JSON Web Key"
    if key.is_private:
        return "holds a private key: register the public half only"
    return None


def public_keys(jwks: dict[str, Any]) -> KeySet:
    """The registered set as joserfc keys (already checked on registration)."""
    keys: list[Key] = [
        JWKRegistry.import_key(entry)
        for entry in jwks.get("keys", [])
        if isinstance(entry, dict) and entry.get("kty") in ASYMMETRIC
    ]
    return KeySet(keys)


def trusted_jwks_url(url: str) -> bool:
    """HTTPS, or plain HTTP to a loopback address (a test or a sidecar on the same host)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback(parts.hostname or "")
