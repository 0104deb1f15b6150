"""Every v1 operation, once: what to send and how to read the answer.

Each function builds a `Call`; either client runs it (`await imb.send(call)` or
`imb.send(call)`) and returns the typed answer. Requests take the models of `schemas/` (the
same models the broker validates with) or plain dicts, which are validated here before
anything is sent. Answers the API types are parsed into its models; the rest are JSON.

`idempotent` marks what may be sent again after a failure that left the outcome unknown:
reads, replacements (PUT) and publishing (an event's `id` makes it idempotent). Anything
else is retried only when the broker says it was not processed (429).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel

from schemas.acks import Acknowledgement
from schemas.admin import (
    AgencyRegistration,
    ClientPage,
    ClientRegistration,
    ClientView,
    RateLimitsBody,
    RateLimitsView,
)
from schemas.agreements import AgreementApproval, AgreementBody, AgreementEnd
from schemas.care_team import CareTeam
from schemas.channels import ChannelBody, ChannelView
from schemas.consents import ConsentBody
from schemas.crisis_plans import CrisisPlanBody, CrisisPlanConfirmation
from schemas.dead_letters import DeadLetterPage, Redriven
from schemas.decisions import DecisionPreviewBody
from schemas.escalations import (
    DutyTeamBody,
    DutyTeamView,
    EscalationAck,
    EscalationPage,
    EscalationView,
)
from schemas.events import EVENT_SUBMISSION
from schemas.overrides import OverrideReview
from schemas.replays import Redelivering, RedeliverRequest, Replayed, ReplayRequest
from schemas.responses import BatchResults, DeliveryContent, EventAccepted, InboxPage, InboxStatus
from schemas.timeframes import TimeframesBody

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Json = dict[str, Any]
Params = dict[str, str | int | float]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: Params = field(default_factory=dict)
    body: Any = None
    idempotent: bool = False
    # The broker may hold the request this long before answering (a waiting inbox read).
    holds_for: float = 0.0
    # The answer is text (an export), not JSON.
    text: bool = False


def _json(answer: Any) -> Json:
    return dict(answer)


def _model(model: type[M]) -> Callable[[Any], M]:
    return model.model_validate


def _body(model: type[BaseModel], given: BaseModel | Mapping[str, Any]) -> Json:
    """The request body, validated by the broker's own model before it is sent."""
    checked = given if isinstance(given, model) else model.model_validate(given)
    return checked.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _params(**given: str | int | float | datetime | UUID | None) -> Params:
    found: Params = {}
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            found[name] = value.isoformat()
        elif isinstance(value, UUID):
            found[name] = str(value)
        else:
            found[name] = value
    return found


Body = BaseModel | Mapping[str, Any]


# Events ------------------------------------------------------------------------------------


def _event(event: Body) -> Json:
    checked = EVENT_SUBMISSION.validate_python(
        event.model_dump(mode="json", exclude_unset=True) if isinstance(event, BaseModel) else event
    )
    dumped: Json = checked.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return dumped


def _as_sent(given: Body) -> Any:
    if isinstance(given, BaseModel):
        return given.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return dict(given)


def publish(event: Body) -> Call[EventAccepted]:
    body = _event(event)
    return Call("POST", "/v1/events", _model(EventAccepted), body=body, idempotent=True)


def publish_batch(events: list[Body]) -> Call[BatchResults]:
    """At most 500; `publish_many` on the clients splits any number. Not validated here: the
    broker answers each event on its own, so one bad event never holds back the rest."""
    body = {"events": [_as_sent(e) for e in events]}
    return Call("POST", "/v1/events:batch", _model(BatchResults), body=body, idempotent=True)


def event_status(message_id: UUID | str) -> Call[Json]:
    return Call("GET", f"/v1/events/{message_id}", _json, idempotent=True)


def replay(message_id: UUID | str, reason: str) -> Call[Replayed]:
    body = _body(ReplayRequest, {"reason": reason})
    return Call("POST", f"/v1/events/{message_id}/replay", _model(Replayed), body=body)


# Inbox -------------------------------------------------------------------------------------


def inbox(
    *,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    since: datetime | None = None,
    after_seq: int | None = None,
    wait: float | None = None,
) -> Call[InboxPage]:
    """A page of the inbox; with `wait` (seconds, at most 30) an empty page is answered only
    when a delivery arrives or the wait ends; with `after_seq`, in seq order after it."""
    params = _params(
        status=status, limit=limit, cursor=cursor, since=since, after_seq=after_seq, wait=wait
    )
    return Call(
        "GET", "/v1/inbox", _model(InboxPage), params, idempotent=True, holds_for=wait or 0.0
    )


def inbox_status() -> Call[InboxStatus]:
    return Call("GET", "/v1/inbox/status", _model(InboxStatus), idempotent=True)


def fetch(delivery_id: UUID | str) -> Call[DeliveryContent]:
    return Call("GET", f"/v1/inbox/{delivery_id}", _model(DeliveryContent), idempotent=True)


def acknowledge(delivery_id: UUID | str, ack: Body) -> Call[Json]:
    body = _body(Acknowledgement, ack)
    return Call("POST", f"/v1/inbox/{delivery_id}/ack", _json, body=body)


def redeliver(delivery_id: UUID | str, reason: str | None = None) -> Call[Redelivering]:
    body = _body(RedeliverRequest, {"reason": reason} if reason else {})
    return Call("POST", f"/v1/deliveries/{delivery_id}/redeliver", _model(Redelivering), body=body)


def dead_letters() -> Call[DeadLetterPage]:
    return Call("GET", "/v1/dead-letters", _model(DeadLetterPage), idempotent=True)


def redrive(delivery_id: UUID | str) -> Call[Redriven]:
    return Call("POST", f"/v1/dead-letters/{delivery_id}/redrive", _model(Redriven), body={})


# Agencies, channels, clients ---------------------------------------------------------------


def agencies() -> Call[Json]:
    return Call("GET", "/v1/agencies", _json, idempotent=True)


def register_agency(agency: Body) -> Call[Json]:
    return Call("POST", "/v1/agencies", _json, body=_body(AgencyRegistration, agency))


def channel(agency: str) -> Call[ChannelView]:
    return Call("GET", f"/v1/agencies/{agency}/channel", _model(ChannelView), idempotent=True)


def set_channel(agency: str, body: Body) -> Call[ChannelView]:
    return Call(
        "PUT",
        f"/v1/agencies/{agency}/channel",
        _model(ChannelView),
        body=_body(ChannelBody, body),
        idempotent=True,
    )


def rotate_channel_secret(agency: str) -> Call[ChannelView]:
    path = f"/v1/agencies/{agency}/channel/rotate-secret"
    return Call("POST", path, _model(ChannelView), body={})


def duty_team(agency: str) -> Call[DutyTeamView]:
    path = f"/v1/agencies/{agency}/duty-team"
    return Call("GET", path, _model(DutyTeamView), idempotent=True)


def set_duty_team(agency: str, team: Body) -> Call[DutyTeamView]:
    path, body = f"/v1/agencies/{agency}/duty-team", _body(DutyTeamBody, team)
    return Call("PUT", path, _model(DutyTeamView), body=body, idempotent=True)


def rate_limits(agency: str) -> Call[RateLimitsView]:
    path = f"/v1/agencies/{agency}/rate-limits"
    return Call("GET", path, _model(RateLimitsView), idempotent=True)


def set_rate_limits(agency: str, limits: Body) -> Call[RateLimitsView]:
    path, body = f"/v1/agencies/{agency}/rate-limits", _body(RateLimitsBody, limits)
    return Call("PUT", path, _model(RateLimitsView), body=body, idempotent=True)


def clients(agency: str | None = None) -> Call[ClientPage]:
    params = _params(agency=agency)
    return Call("GET", "/v1/clients", _model(ClientPage), params, idempotent=True)


def client(client_id: str) -> Call[ClientView]:
    return Call("GET", f"/v1/clients/{client_id}", _model(ClientView), idempotent=True)


def register_client(registration: Body) -> Call[Json]:
    """The answer carries the client's secret, once."""
    return Call("POST", "/v1/clients", _json, body=_body(ClientRegistration, registration))


def revoke_client(client_id: str) -> Call[ClientView]:
    return Call("POST", f"/v1/clients/{client_id}/revoke", _model(ClientView), body={})


def rotate_client_secret(client_id: str) -> Call[Json]:
    return Call("POST", f"/v1/clients/{client_id}/rotate-secret", _json, body={})


# Agreements --------------------------------------------------------------------------------


def agreements(party: str | None = None, status: str | None = None) -> Call[Json]:
    params = _params(party=party, status=status)
    return Call("GET", "/v1/agreements", _json, params, idempotent=True)


def agreements_due_for_review(within_days: int = 30) -> Call[Json]:
    params = _params(within_days=within_days)
    return Call("GET", "/v1/agreements/due-for-review", _json, params, idempotent=True)


def agreement(agreement_id: UUID | str) -> Call[Json]:
    return Call("GET", f"/v1/agreements/{agreement_id}", _json, idempotent=True)


def create_agreement(agreement: Body) -> Call[Json]:
    return Call("POST", "/v1/agreements", _json, body=_body(AgreementBody, agreement))


def revise_agreement(agreement_id: UUID | str, agreement: Body) -> Call[Json]:
    """A new version of the agreement, to be approved again."""
    body = _body(AgreementBody, agreement)
    return Call("PUT", f"/v1/agreements/{agreement_id}", _json, body=body)


def approve_agreement(agreement_id: UUID | str, approval: Body) -> Call[Json]:
    body = _body(AgreementApproval, approval)
    return Call("POST", f"/v1/agreements/{agreement_id}/approvals", _json, body=body)


def suspend_agreement(agreement_id: UUID | str, end: Body) -> Call[Json]:
    body = _body(AgreementEnd, end)
    return Call("POST", f"/v1/agreements/{agreement_id}/suspend", _json, body=body)


def terminate_agreement(agreement_id: UUID | str, end: Body) -> Call[Json]:
    body = _body(AgreementEnd, end)
    return Call("POST", f"/v1/agreements/{agreement_id}/terminate", _json, body=body)


def reinstate_agreement(agreement_id: UUID | str) -> Call[Json]:
    return Call("POST", f"/v1/agreements/{agreement_id}/reinstate", _json, body={})


def preview_decision(request: Body) -> Call[Json]:
    body = _body(DecisionPreviewBody, request)
    return Call("POST", "/v1/decisions/preview", _json, body=body, idempotent=True)


# People: care teams, consents, crisis plans ------------------------------------------------


def set_care_team(nhs_number: str, team: Body) -> Call[Json]:
    body = _body(CareTeam, team)
    path = f"/v1/subjects/{nhs_number}/care-team"
    return Call("PUT", path, _json, body=body, idempotent=True)


def consents(nhs_number: str) -> Call[Json]:
    return Call("GET", f"/v1/subjects/{nhs_number}/consents", _json, idempotent=True)


def record_consent(nhs_number: str, record: Body) -> Call[Json]:
    body = _body(ConsentBody, record)
    return Call("POST", f"/v1/subjects/{nhs_number}/consents", _json, body=body)


def crisis_plans(nhs_number: str) -> Call[Json]:
    return Call("GET", f"/v1/subjects/{nhs_number}/crisis-plans", _json, idempotent=True)


def crisis_plan(nhs_number: str, plan_id: UUID | str) -> Call[Json]:
    path = f"/v1/subjects/{nhs_number}/crisis-plans/{plan_id}"
    return Call("GET", path, _json, idempotent=True)


def propose_crisis_plan(nhs_number: str, plan: Body) -> Call[Json]:
    body = _body(CrisisPlanBody, plan)
    return Call("POST", f"/v1/subjects/{nhs_number}/crisis-plans", _json, body=body)


def confirm_crisis_plan(nhs_number: str, plan_id: UUID | str, confirmation: Body) -> Call[Json]:
    body = _body(CrisisPlanConfirmation, confirmation)
    path = f"/v1/subjects/{nhs_number}/crisis-plans/{plan_id}/confirmations"
    return Call("POST", path, _json, body=body)


# Escalations, overrides, timeframes ---------------------------------------------------------


def escalations(
    status: str | None = None, limit: int = 100, cursor: str | None = None
) -> Call[EscalationPage]:
    params = _params(status=status, limit=limit, cursor=cursor)
    return Call("GET", "/v1/escalations", _model(EscalationPage), params, idempotent=True)


def escalation(escalation_id: UUID | str) -> Call[EscalationView]:
    path = f"/v1/escalations/{escalation_id}"
    return Call("GET", path, _model(EscalationView), idempotent=True)


def acknowledge_escalation(escalation_id: UUID | str, ack: Body) -> Call[EscalationView]:
    body = _body(EscalationAck, ack)
    path = f"/v1/escalations/{escalation_id}/ack"
    return Call("POST", path, _model(EscalationView), body=body)


def overrides(status: str | None = None) -> Call[Json]:
    return Call("GET", "/v1/overrides", _json, _params(status=status), idempotent=True)


def review_override(override_id: UUID | str, review: Body) -> Call[Json]:
    body = _body(OverrideReview, review)
    return Call("POST", f"/v1/overrides/{override_id}/review", _json, body=body)


def timeframes() -> Call[Json]:
    return Call("GET", "/v1/timeframes", _json, idempotent=True)


def set_timeframes(policies: Body) -> Call[Json]:
    """Replace the whole deadline policy (the `admin` scope)."""
    body = _body(TimeframesBody, policies)
    return Call("PUT", "/v1/timeframes", _json, body=body, idempotent=True)


# Audit and reports -------------------------------------------------------------------------


def audit_trail(message_id: UUID | str) -> Call[Json]:
    return Call("GET", f"/v1/audit/messages/{message_id}", _json, idempotent=True)


def subject_trace(nhs_number: str) -> Call[Json]:
    return Call("GET", f"/v1/audit/subjects/{nhs_number}/trace", _json, idempotent=True)


def audit_records(
    *,
    agency: str | None = None,
    event: str | None = None,
    subject: str | None = None,
    recorded_from: datetime | None = None,
    recorded_to: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Call[Json]:
    params = _params(
        agency=agency,
        event=event,
        subject=subject,
        cursor=cursor,
        limit=limit,
        **{"from": recorded_from, "to": recorded_to},
    )
    return Call("GET", "/v1/audit/records", _json, params, idempotent=True)


def verify_audit() -> Call[Json]:
    return Call("GET", "/v1/audit/verify", _json, idempotent=True)


def audit_export(start: datetime, end: datetime, format: str = "fhir") -> Call[str]:
    """Newline-delimited FHIR AuditEvents (or CSV), as text."""
    params = _params(format=format, **{"from": start, "to": end})
    return Call("GET", "/v1/audit/export", str, params, idempotent=True, text=True)


def timeliness_report(start: datetime, end: datetime, agency: str | None = None) -> Call[Json]:
    params = _params(agency=agency, format="json", **{"from": start, "to": end})
    return Call("GET", "/v1/reports/timeliness", _json, params, idempotent=True)
