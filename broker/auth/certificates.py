"""The client certificate a request came with (RFC 8705), and its thumbprint.

Served over TLS by `imb serve --client-ca`, the certificate is the one the TLS handshake
verified against the client CA, handed to the application in the ASGI TLS extension
(`scope["extensions"]["tls"]["client_cert_chain"]`, see broker.api.tls). Behind a proxy that
terminates TLS, it is the one the proxy verified and forwarded in a header, but only when the
operator names that header (IMB_TLS__FORWARDED_CERT_HEADER, off by default) and only when the
connection itself comes from a trusted proxy (IMB_TRUSTED_PROXIES): from anyone else, such a
header is ignored.
"""

import base64
import hashlib
import hmac
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.types import Scope

from broker.api.proxies import networks, within
from broker.auth.tokens import AccessClaims, InvalidToken
from broker.settings import Settings


def peer_certificate(scope: Scope, settings: Settings) -> x509.Certificate | None:
    chain = (scope.get("extensions") or {}).get("tls", {}).get("client_cert_chain") or []
    if chain:
        return _load(chain[0])
    header = settings.tls.forwarded_cert_header
    if header and _from_trusted_proxy(scope, settings.trusted_proxies):
        return _forwarded(scope, header.lower().encode())
    return None


def check_binding(scope: Scope, settings: Settings, claims: AccessClaims) -> None:
    """RFC 8705 §3: a certificate-bound token is good only with the certificate it is bound
    to; raise InvalidToken otherwise. An unbound token needs none."""
    bound = claims.certificate_thumbprint
    if bound is None:
        return
    presented = peer_certificate(scope, settings)
    if presented is None or not hmac.compare_digest(thumbprint(presented), bound):
        raise InvalidToken("it is bound to a client certificate this request did not present")


def thumbprint(certificate: x509.Certificate) -> str:
    """x5t#S256: base64url of the SHA-256 of the DER certificate, unpadded (RFC 8705 §3.1)."""
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _load(leaf: str | bytes) -> x509.Certificate | None:
    try:
        if isinstance(leaf, bytes) and not leaf.startswith(b"-----"):
            return x509.load_der_x509_certificate(leaf)
        pem = leaf.encode() if isinstance(leaf, str) else leaf
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None


def _from_trusted_proxy(scope: Scope, trusted: list[str]) -> bool:
    # The connection's own peer, never an address a header claims (broker.api.proxies).
    peer = scope.get("imb.peer", scope.get("client"))
    return peer is not None and within(peer[0], networks(tuple(trusted)))


def _forwarded(scope: Scope, header: bytes) -> x509.Certificate | None:
    for name, value in scope.get("headers", []):
        if name.lower() == header and value:
            # nginx's $ssl_client_escaped_cert and Envoy's Cert= field are URL-encoded PEM.
            return _load(unquote(value.decode("latin-1")))
    return None
