"""Mutual TLS on a served broker (RFC 8705): a client proves itself with its certificate
(tls_client_auth), and a token issued over mutual TLS works only with that certificate.

Real TLS on loopback: a CA, server and client certificates made with `cryptography`, and
httpx presenting them through an SSL context."""

import base64
import hashlib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.certificates import Issued, Pki
from tests.e2e.processes import ImbInstallation, ServingImb

pytestmark = pytest.mark.slow
EPR_SUBJECT = "CN=epr.riverside.example,O=Riverside Mental Health NHS Trust,C=GB"


# One broker for the module: starting one costs seconds, and each test adds clients of its own.
@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> ImbInstallation:
    folder = tmp_path_factory.mktemp("mtls")
    imb = ImbInstallation(
        folder / "imb-data", f"sqlite+aiosqlite:///{folder}/imb.db", kafka_bootstrap
    )
    imb.run("migrate")
    return imb


@pytest.fixture(scope="module")
def served(installation: ImbInstallation, pki: Pki) -> Iterator[ServingImb]:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    server_certificate = pki.server()
    server = installation.serve(
        "--tls-cert",
        str(server_certificate.certificate),
        "--tls-key",
        str(server_certificate.key),
        "--client-ca",
        str(pki.ca),
        trusting=pki.ca,
    )
    yield server
    server.stop()


def _tls_client(installation: ImbInstallation, subject: str) -> str:
    added = installation.run(
        "client", "add", "--agency", "RX4", "--scopes", "inbox:read", "--tls-subject", subject
    )
    client_id: str = json.loads(added.stdout)["client_id"]
    return client_id


def _token(server: ServingImb, verify: ssl.SSLContext, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", **form}
    return httpx.post(f"{server.base_url}/oauth/token", data=data, verify=verify)


def _inbox(server: ServingImb, verify: ssl.SSLContext, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.base_url}/v1/inbox", headers=headers, verify=verify)


def _unverified_claims(token: str) -> dict[str, object]:
    """What the token says, read as its holder can (its signature is the broker's business)."""
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_a_client_proves_itself_with_its_certificate_and_its_token_is_bound_to_it(
    installation: ImbInstallation, served: ServingImb, pki: Pki
) -> None:
    epr = pki.client("epr", EPR_SUBJECT)
    colleague = pki.client("colleague", "CN=another.system,O=Riverside Mental Health NHS Trust")
    client_id = _tls_client(installation, EPR_SUBJECT)
    with_certificate = epr.ssl_context(pki.ca)
    plain = ssl.create_default_context(cafile=str(pki.ca))

    issued = _token(served, with_certificate, client_id=client_id)
    not_presented = _token(served, plain, client_id=client_id)
    wrong_certificate = _token(served, colleague.ssl_context(pki.ca), client_id=client_id)

    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert _unverified_claims(token)["cnf"] == {"x5t#S256": _thumbprint(epr)}
    assert (not_presented.status_code, wrong_certificate.status_code) == (401, 401)
    used = _inbox(served, with_certificate, token)
    assert used.status_code == 200
    assert used.headers["strict-transport-security"].startswith("max-age=")
    stolen_without = _inbox(served, plain, token)
    stolen_with_another = _inbox(served, colleague.ssl_context(pki.ca), token)
    assert (stolen_without.status_code, stolen_with_another.status_code) == (401, 401)
    assert "bound to a client certificate" in stolen_without.json()["detail"]


def test_a_secret_clients_token_asked_for_over_mutual_tls_is_bound_too(
    installation: ImbInstallation, served: ServingImb, pki: Pki
) -> None:
    client_id, secret = installation.add_client("RX4", "inbox:read")
    device = pki.client("device", "CN=device.example")
    plain = ssl.create_default_context(cafile=str(pki.ca))

    bound = _token(served, device.ssl_context(pki.ca), client_id=client_id, client_secret=secret)
    unbound = _token(served, plain, client_id=client_id, client_secret=secret)

    bound_token, unbound_token = bound.json()["access_token"], unbound.json()["access_token"]
    assert "cnf" in _unverified_claims(bound_token) and "cnf" not in _unverified_claims(
        unbound_token
    )
    assert _inbox(served, plain, bound_token).status_code == 401
    assert _inbox(served, plain, unbound_token).status_code == 200


def test_a_certificate_from_another_ca_never_gets_in(
    installation: ImbInstallation, served: ServingImb, pki: Pki, tmp_path: Path
) -> None:
    rogue = Pki(tmp_path / "rogue", name="Rogue CA").client("rogue", "CN=rogue.example")
    client_id = _tls_client(installation, EPR_SUBJECT)
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(rogue.certificate), str(rogue.key))

    with pytest.raises(httpx.TransportError):
        _token(served, context, client_id=client_id)


def _thumbprint(issued: Issued) -> str:
    der = ssl.PEM_cert_to_DER_cert(issued.certificate.read_text())
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
