"""Serving HTTPS with uvicorn and handing the verified client certificate to the application.

uvicorn 0.54 verifies a client certificate against `ssl_ca_certs` in the handshake but puts
nothing of it in the ASGI scope, and neither do hypercorn 0.18 or granian 2.8 (both checked:
their scopes carry no `tls` extension). uvicorn does take the HTTP protocol class as a setting
(`Config(http=...)`), and a protocol's `connection_made` runs once the handshake is done, so
the subclasses here read the verified leaf certificate from the connection's SSL object and add
it to every request's scope as the ASGI TLS extension says (`scope["extensions"]["tls"]
["client_cert_chain"]`, PEM). The application reads only that standard key
(broker.auth.certificates), so the day uvicorn fills it in itself, these classes can go.
"""

import ssl
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(transport: Any) -> dict[str, Any] | None:
    """The ASGI TLS extension for a connection, or None for plain HTTP."""
    connection = transport.get_extra_info("ssl_object")
    if connection is None:
        return None
    # The leaf as verified against the client CA; None when the client sent no certificate.
    leaf = connection.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(leaf)] if leaf else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(connection.version()),
        "cipher_suite": None,
    }


class _WithTlsExtension:
    app: ASGIApp

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        extension = tls_extension(transport)
        if extension is None:
            return
        inner = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})["tls"] = extension
            await inner(scope, receive, send)

        self.app = app


class H11WithTls(_WithTlsExtension, H11Protocol):
    pass


def protocol_with_tls() -> type:
    """httptools' protocol where it is installed (uvicorn's own preference), h11's otherwise."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return H11WithTls

    class HttpToolsWithTls(_WithTlsExtension, HttpToolsProtocol):
        pass

    return HttpToolsWithTls
