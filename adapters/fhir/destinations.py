"""The recipients a message names: `MessageHeader.destination`, each an agency.

R4 requires a destination's `endpoint` and makes its `receiver` optional, so an agency may be
named by either: by its Organization's ODS code, or by its IMB endpoint
(`{FHIR_BASE}/Endpoint/{ODS code}`). A destination IMB cannot tie to one agency is refused,
never skipped: with no recipients left the event would go to the person's whole care team.
"""

from adapters.fhir.bundles import BundleView
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.identifiers import ods_code_of
from adapters.fhir.names import agency_endpoint

AGENCY_ENDPOINTS = agency_endpoint("")


def read_recipients(header: Element, view: BundleView, draft: Draft) -> None:
    codes = [_agency(destination, view) for destination in header.items("destination")]
    if codes:
        draft.put(("recipients",), [c.value for c in codes], f"{header.path}.destination")
    else:
        # No recipients named is a choice made here too: IMB's refusal of it (only the care
        # team may address the care team) points at where recipients would be named.
        draft.read_from(("recipients",), f"{header.path}.destination")
    for index, code in enumerate(codes):
        draft.read_from(("recipients", index), code.path)


def _agency(destination: Element, view: BundleView) -> Element:
    """The ODS code the destination names, located where it was read."""
    receiver = destination.obj("a destination").get("receiver")
    by_receiver = None if receiver is None else ods_code_of(receiver, view, "a receiver")
    endpoint = destination.get("endpoint")
    by_endpoint = None if endpoint is None else _endpoint_agency(endpoint)
    if by_receiver and by_endpoint and by_receiver.value != by_endpoint.value:
        raise refuse(
            "invalid", "the receiver and the endpoint name different agencies", by_endpoint.path
        )
    found = by_receiver or by_endpoint
    if found is None:
        raise refuse(
            "not-supported",
            "a destination names an agency: by a receiver with an ODS code, "
            f"or by an endpoint {AGENCY_ENDPOINTS}{{ODS code}}",
            destination.path,
        )
    return found


def _endpoint_agency(endpoint: Element) -> Element | None:
    """The ODS code in an IMB agency endpoint, or None for an endpoint outside IMB."""
    url = endpoint.text("the destination endpoint")
    if not url.startswith(AGENCY_ENDPOINTS):
        return None
    code = url.removeprefix(AGENCY_ENDPOINTS)
    if not code or "/" in code:
        raise refuse(
            "value", f"an agency endpoint is {AGENCY_ENDPOINTS}{{ODS code}}", endpoint.path
        )
    return Element(code, endpoint.path)
