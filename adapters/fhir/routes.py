"""The FHIR R4 API at /fhir/R4 (docs/fhir.md): the same use cases, tokens, scopes and
authorisation as IMB's own JSON API, in FHIR's resources.

    GET  /fhir/R4/metadata                     the CapabilityStatement (public)
    GET  /fhir/R4/CodeSystem/{id}              IMB's CodeSystems (public)
    GET  /fhir/R4/MessageDefinition/{code}     IMB's message definitions (public)
    POST /fhir/R4/$process-message             an event message (events:publish), or a
                                               response message acknowledging a delivery
                                               (inbox:ack)
    POST /fhir/R4/Consent                      record a consent (consent:manage)
    GET  /fhir/R4/Consent?patient.identifier=  a person's consents (consent:manage)
    GET  /fhir/R4/Consent/{id}                 one of them (consent:manage)

Every error under /fhir/ is an OperationOutcome (broker/extensions.py): refusals of FHIR
content here, with each issue's expression pointing into what was sent.
"""

import json
from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from adapters.fhir.acks import (
    AcknowledgementReceived,
    acknowledgement_from_bundle,
    is_response_message,
)
from adapters.fhir.capability import capability_statement, message_definition
from adapters.fhir.codes import CODE_SYSTEMS, EVENT_TYPE, code_system, coding, event_code
from adapters.fhir.consents import consent_to_fhir, read_submitted_consent
from adapters.fhir.elements import Loc, expression_for
from adapters.fhir.errors import FhirInputError, Issue
from adapters.fhir.inbound import event_from_bundle
from adapters.fhir.names import urn_uuid
from adapters.fhir.outcomes import operation_outcome
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.api.routes.events import announce_accepted
from broker.db.models import ConsentRecord
from broker.deliveries.inbox import (
    acknowledge,
    acknowledged_as,
    nhs_number_of,
    visible_delivery,
)
from broker.errors import BrokerError, Forbidden, InvalidInput, NotFound
from broker.messages.group_commit import GroupCommit
from broker.messages.submit import Accepted
from broker.runtime import Runtime
from broker.subjects.access import SubjectRecords, require_standing, standing_of
from broker.subjects.consents import consent_records, record_consent
from schemas.acks import Acknowledgement
from schemas.consents import ConsentBody
from schemas.events import EVENT_SUBMISSION
from schemas.nhs_number import validate_nhs_number
from schemas.vocabulary import Scope

FHIR_JSON = "application/fhir+json"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
router = APIRouter(prefix="/fhir/R4", tags=["fhir"])
# The scopes each route admits, as the OpenAPI document shows them; which of them a message
# needs is checked once it is read.
MessagingCaller = Annotated[Caller, Depends(require(Scope.EVENTS_PUBLISH, Scope.INBOX_ACK))]
ConsentCaller = Annotated[Caller, Depends(require(Scope.CONSENT_MANAGE, Scope.ADMIN))]


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


@router.get("/metadata", response_class=FhirJSONResponse)
async def metadata(request: Request, rt: RuntimeDep) -> dict[str, Any]:
    """What this server supports, exactly (no token needed)."""
    return capability_statement(
        date=rt.clock().date().isoformat(),
        software_version=request.app.version,
        base_url=_fhir_base(request),
    )


@router.get("/CodeSystem/{code_system_id}", response_class=FhirJSONResponse)
async def get_code_system(code_system_id: str) -> dict[str, Any]:
    """One of IMB's CodeSystems: the event codes and IMB's vocabularies."""
    vocabulary = CODE_SYSTEMS.get(code_system_id)
    if vocabulary is None:
        raise NotFound(f"no CodeSystem {code_system_id}; IMB's are {', '.join(CODE_SYSTEMS)}")
    return code_system(vocabulary)


@router.get("/MessageDefinition/{code}", response_class=FhirJSONResponse)
async def get_message_definition(code: str) -> dict[str, Any]:
    """The definition of one of IMB's messages, by its event code."""
    if code not in EVENT_TYPE.codes:
        raise NotFound(f"no MessageDefinition {code}; IMB's are {', '.join(EVENT_TYPE.codes)}")
    return message_definition(code)


@router.post("/$process-message", status_code=202, response_class=FhirJSONResponse)
async def process_message(
    request: Request, caller: MessagingCaller, rt: RuntimeDep, session: SessionDep
) -> Any:
    """An event message is accepted durably (202), as POST /v1/events accepts an event, and
    answered with a response message; its id (Bundle.identifier or MessageHeader.id) is the
    idempotency key. A response message acknowledges a delivery, as POST /v1/inbox/{id}/ack."""
    bundle = await _json_body(request)
    if isinstance(bundle, JSONResponse):
        return bundle
    try:
        if is_response_message(bundle):
            return await _acknowledgement(bundle, caller, rt, session)
        return await _event(bundle, caller, rt, request)
    except FhirInputError as exc:
        return refusal(422, exc.issues)


async def _event(bundle: dict[str, Any], caller: Caller, rt: Runtime, request: Request) -> Any:
    await require(Scope.EVENTS_PUBLISH)(caller)
    inbound = event_from_bundle(bundle)
    if inbound.sender != caller.agency:
        raise Forbidden(
            f"MessageHeader.sender names {inbound.sender}; an agency sends only as itself"
        )
    event = EVENT_SUBMISSION.validate_python(inbound.event)
    group_commit: GroupCommit = request.app.state.group_commit
    outcome = await group_commit.submit(caller.actor, event)
    announce_accepted(rt, [outcome], [event])
    if isinstance(outcome, InvalidInput):
        raise located(outcome, inbound.sources, "Bundle")
    if isinstance(outcome, BrokerError):
        raise outcome
    return _accepted_answer(rt, outcome, str(event.id), inbound.event["type"])


def _accepted_answer(rt: Runtime, accepted: Accepted, event_id: str, event_type: str) -> Any:
    status = f"/v1/events/{accepted.message_id}"
    notice = Issue("informational", f"accepted as message {accepted.message_id}; see {status}")
    answer = response_message(rt, event_id, coding(EVENT_TYPE, event_code(event_type)), notice)
    return FhirJSONResponse(answer, 202, headers={"Location": status})


async def _acknowledgement(
    bundle: dict[str, Any], caller: Caller, rt: Runtime, session: SessionDep
) -> Any:
    await require(Scope.INBOX_ACK)(caller)
    received = acknowledgement_from_bundle(bundle)
    if received.sender is not None and received.sender != caller.agency:
        raise Forbidden(
            f"MessageHeader.sender names {received.sender}; an agency answers only as itself"
        )
    acknowledgement_coding = coding(EVENT_TYPE, "acknowledgement")
    if not isinstance(received, AcknowledgementReceived):
        # Nothing to record: the delivery stays unacknowledged and its deadline runs. Only
        # the recipient may say so; of anyone else's delivery the answer says nothing.
        await visible_delivery(session, caller.agency, received.delivery_id)
        notice = Issue(
            "informational", "a transient error is not an acknowledgement; the deadline runs"
        )
        answer = response_message(rt, str(received.delivery_id), acknowledgement_coding, notice)
        return FhirJSONResponse(answer, 200)
    ack = Acknowledgement.model_validate(received.acknowledgement)
    entry = await visible_delivery(session, caller.agency, received.delivery_id)
    # The same acknowledgement again (a FHIR sender retrying) is answered as the first was;
    # any other after it is a 409. (The JSON API answers every second acknowledgement 409.)
    if not acknowledged_as(rt, entry.delivery, ack):
        await acknowledge(session, rt, caller.actor, received.delivery_id, ack)
        await session.commit()
    notice = Issue("informational", f"delivery {received.delivery_id} acknowledged")
    answer = response_message(rt, str(received.delivery_id), acknowledgement_coding, notice)
    return FhirJSONResponse(answer, 200)


def response_message(
    rt: Runtime, answering: str, event_coding: dict[str, str], notice: Issue
) -> dict[str, Any]:
    """IMB's response message: `ok`, with an OperationOutcome saying what happened."""
    header_id, outcome_id = uuid4(), uuid4()
    outcome = {**operation_outcome([notice]), "id": str(outcome_id)}
    outcome["issue"][0]["severity"] = "information"
    header = {
        "resourceType": "MessageHeader",
        "id": str(header_id),
        "eventCoding": event_coding,
        "source": {"name": "IMB", "endpoint": "urn:imb:broker"},
        "response": {
            "identifier": answering,
            "code": "ok",
            "details": {"reference": urn_uuid(outcome_id)},
        },
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid4()),
        "type": "message",
        "timestamp": rt.clock().isoformat(),
        "entry": [
            {"fullUrl": urn_uuid(header_id), "resource": header},
            {"fullUrl": urn_uuid(outcome_id), "resource": outcome},
        ],
    }


@router.post("/Consent", status_code=201, response_class=FhirJSONResponse)
async def create_consent(
    request: Request, caller: ConsentCaller, rt: RuntimeDep, session: SessionDep
) -> Any:
    """Record a person's consent position, as POST /v1/subjects/{nhs_number}/consents does:
    care team and crisis-plan partners only, history kept, another agency's refusal standing
    unless this one supersedes it."""
    resource = await _json_body(request)
    if isinstance(resource, JSONResponse):
        return resource
    try:
        submitted = read_submitted_consent(resource)
        nhs_number = submitted.nhs_number
        await _require_consent_standing(caller, rt, session, nhs_number)
        body = ConsentBody.model_validate(submitted.body)
        try:
            view = await record_consent(session, rt, caller.actor, nhs_number, body)
        except InvalidInput as exc:
            raise located(exc, submitted.sources, "Consent", prefix=("body",)) from None
    except FhirInputError as exc:
        return refusal(422, exc.issues)
    await session.commit()
    created = consent_to_fhir(view, nhs_number)
    location = f"/fhir/R4/Consent/{view['id']}"
    return FhirJSONResponse(created, 201, headers={"Location": location})


@router.get("/Consent", response_class=FhirJSONResponse)
async def search_consents(
    request: Request,
    caller: ConsentCaller,
    rt: RuntimeDep,
    session: SessionDep,
    patient_identifier: Annotated[
        str | None,
        Query(
            alias="patient.identifier",
            description="https://fhir.nhs.uk/Id/nhs-number|{NHS number}, or the number alone",
        ),
    ] = None,
    patient_chained: Annotated[
        str | None, Query(alias="patient:identifier", description="the same, as FHIR spells it")
    ] = None,
) -> dict[str, Any]:
    """A person's consent records, newest first, as a searchset Bundle; each read is audited
    (`consent.viewed`), as GET /v1/subjects/{nhs_number}/consents."""
    nhs_number = _searched_nhs_number(patient_identifier or patient_chained)
    await _require_consent_standing(caller, rt, session, nhs_number)
    views = await consent_records(session, rt, caller.actor, nhs_number)
    await session.commit()
    base = _fhir_base(request)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(views),
        "entry": [
            {
                "fullUrl": f"{base}/Consent/{view['id']}",
                "resource": consent_to_fhir(view, nhs_number),
                "search": {"mode": "match"},
            }
            for view in views
        ],
    }


@router.get("/Consent/{consent_id}", response_class=FhirJSONResponse)
async def read_consent(
    consent_id: UUID, caller: ConsentCaller, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """One consent record, to those who may read the person's consents; to anyone else it is
    as absent as an id never issued. The read is audited as a search is."""
    absent = NotFound(f"no Consent {consent_id}")
    record = await session.get(ConsentRecord, consent_id)
    if record is None:
        raise absent
    standing = await standing_of(
        session, caller.agency, record.subject_pseudonym, admin=caller.has(Scope.ADMIN)
    )
    try:
        require_standing(standing, SubjectRecords.CONSENTS)
    except NotFound:
        raise absent from None
    nhs_number = await nhs_number_of(session, rt, record.subject_pseudonym)
    views = await consent_records(session, rt, caller.actor, nhs_number)
    await session.commit()
    return consent_to_fhir(next(v for v in views if v["id"] == str(consent_id)), nhs_number)


def _fhir_base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir/R4"


def _searched_nhs_number(token: str | None) -> str:
    if not token:
        raise InvalidInput("search by patient.identifier: the person's NHS number")
    system, bar, value = token.rpartition("|")
    if bar and system != NHS_NUMBER_SYSTEM:
        raise InvalidInput(f"patient.identifier's system must be {NHS_NUMBER_SYSTEM}")
    try:
        return validate_nhs_number(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"patient.identifier: {exc}") from None


async def _require_consent_standing(
    caller: Caller, rt: Runtime, session: SessionDep, nhs_number: str
) -> None:
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    standing = await standing_of(session, caller.agency, pseudonym, admin=caller.has(Scope.ADMIN))
    require_standing(standing, SubjectRecords.CONSENTS)


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    """The body as JSON, or the OperationOutcome that refuses it (400)."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return refusal(400, [Issue("structure", "the body is not JSON")])
    if not isinstance(body, dict) or "resourceType" not in body:
        return refusal(400, [Issue("structure", "the body is not a FHIR resource")])
    return body


def located(
    error: InvalidInput, sources: Mapping[Loc, str], whole: str, prefix: Loc = ()
) -> FhirInputError:
    """A refusal IMB made after mapping (an unknown recipient, a consent that cannot set a
    refusal aside), each issue pointing where its field was read in what was sent, else at
    the whole resource: never at IMB's own field names, which the sender never wrote."""
    issues = [
        Issue("invalid", field.msg, expression_for(sources, _without(prefix, field.loc)) or whole)
        for field in error.errors
    ]
    return FhirInputError(issues or [Issue("invalid", error.detail, whole)])


def _without(prefix: Loc, loc: Loc) -> Loc:
    return loc[len(prefix) :] if loc[: len(prefix)] == prefix else loc


def refusal(status: int, issues: tuple[Issue, ...] | list[Issue]) -> FhirJSONResponse:
    return FhirJSONResponse(operation_outcome(issues), status)
