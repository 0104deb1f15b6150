"""The controlled vocabularies of the wire contract (docs/governance.md explains them).

They live here, in the package that imports nothing else of ours, so that both the wire models
and the consent engine (`consent.vocab`) speak the same words.
"""

from enum import StrEnum


class EventType(StrEnum):
    RISK_CHANGED = "risk.changed"
    ENGAGEMENT_DISENGAGED = "engagement.disengaged"
    CRISIS_OCCURRED = "crisis.occurred"


class Purpose(StrEnum):
    """Why an event is shared; maps onto HL7 v3 ActReason purpose-of-use codes."""

    DIRECT_CARE = "direct_care"
    SAFEGUARDING = "safeguarding"


class PurposeOfUse(StrEnum):
    """HL7 v3 ActReason (purpose of use) codes, for standards that need codes."""

    TREAT = "TREAT"
    COC = "COC"  # coordination of care
    ETREAT = "ETREAT"  # emergency treatment
    BTG = "BTG"  # break the glass


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class AgencyKind(StrEnum):
    NHS_TRUST = "nhs_trust"
    LOCAL_AUTHORITY = "local_authority"
    HOUSING = "housing"
    GP_PRACTICE = "gp_practice"
    VCSE = "vcse"
    POLICE = "police"
    AMBULANCE = "ambulance"
    OTHER = "other"


class PartyRole(StrEnum):
    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    PROCESSOR = "processor"


class Art6Basis(StrEnum):
    """UK GDPR Article 6(1) lawful bases."""

    PUBLIC_TASK = "public_task"  # 6(1)(e): the default for NHS bodies and local authorities
    LEGAL_OBLIGATION = "legal_obligation"  # 6(1)(c)
    VITAL_INTERESTS = "vital_interests"  # 6(1)(d)
    CONSENT = "consent"  # 6(1)(a)
    LEGITIMATE_INTERESTS = "legitimate_interests"  # 6(1)(f): not for public authorities' tasks
    RECOGNISED_LEGITIMATE_INTEREST = "recognised_legitimate_interest"  # 6(1)(ea), DUAA 2025


class Art9Condition(StrEnum):
    """UK GDPR Article 9(2) conditions for special category (health) data."""

    HEALTH_SOCIAL_CARE = "health_social_care"  # 9(2)(h) + DPA 2018 Sch 1 para 2
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"  # 9(2)(g) + Sch 1 Part 2 para
    VITAL_INTERESTS = "vital_interests"  # 9(2)(c): only where the person cannot consent
    EXPLICIT_CONSENT = "explicit_consent"  # 9(2)(a)


class ConfidentialityBasis(StrEnum):
    """Common-law duty of confidentiality: the basis for setting it aside."""

    IMPLIED_CONSENT_INDIVIDUAL_CARE = "implied_consent_individual_care"
    EXPLICIT_CONSENT = "explicit_consent"
    OVERRIDING_PUBLIC_INTEREST = "overriding_public_interest"  # needs justification + decider
    LEGAL_REQUIREMENT = "legal_requirement"


class StatutoryGateway(StrEnum):
    HSCA2012_S251B_DUTY_TO_SHARE = "hsca2012_s251b_duty_to_share"  # disapplied on objection
    CARE_ACT_S42_ENQUIRY = "care_act_s42_enquiry"
    CARE_ACT_S45_SAB_REQUEST = "care_act_s45_sab_request"


class OverrideReason(StrEnum):
    SAFEGUARDING_ADULT_AT_RISK = "safeguarding_adult_at_risk"
    SAFEGUARDING_CHILD = "safeguarding_child"
    VITAL_INTERESTS = "vital_interests"
    SERIOUS_HARM_PUBLIC_INTEREST = "serious_harm_public_interest"
    LEGAL_DUTY = "legal_duty"


class ConsentState(StrEnum):
    GIVEN_EXPLICIT = "given_explicit"
    IMPLIED = "implied"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    OBJECTION_RECORDED = "objection_recorded"
    LACKS_CAPACITY_BEST_INTERESTS = "lacks_capacity_best_interests"


class AckOutcome(StrEnum):
    ACCEPTED = "accepted"
    ACTIONED = "actioned"
    DECLINED = "declined"


class DeclineReason(StrEnum):
    NOT_KNOWN_TO_SERVICE = "not_known_to_service"
    OUT_OF_SCOPE = "out_of_scope"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    WRONG_RECIPIENT = "wrong_recipient"
    OTHER = "other"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class RiskDomain(StrEnum):
    SELF_HARM = "self_harm"
    SUICIDE = "suicide"
    HARM_TO_OTHERS = "harm_to_others"
    SELF_NEGLECT = "self_neglect"
    EXPLOITATION = "exploitation"
    SAFEGUARDING = "safeguarding"


class ContactMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    LETTER = "letter"
    TEXT = "text"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    WITHHELD = "withheld"
    PENDING = "pending"
    DELIVERED = "delivered"
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    EXPIRED = "expired"
    FAILED = "failed"


class DecisionOutcome(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    PERMIT_OVERRIDE = "permit_override"


class Scope(StrEnum):
    """OAuth2 scopes of the v1 API."""

    EVENTS_PUBLISH = "events:publish"
    INBOX_READ = "inbox:read"
    INBOX_ACK = "inbox:ack"
    AGREEMENTS_MANAGE = "agreements:manage"
    CONSENT_MANAGE = "consent:manage"
    AUDIT_READ = "audit:read"
    AUDIT_ALL = "audit:all"  # a regulator or auditor: with audit:read, every agency's trail
    METRICS_READ = "metrics:read"  # a monitoring system scraping /metrics
    CHANNELS_MANAGE = "channels:manage"  # an agency choosing how its deliveries are pushed
    ADMIN = "admin"

    @property
    def allows(self) -> str:
        """What a client holding the scope may do, as `imb client add --help` tells it."""
        return _SCOPE_ALLOWS[self]


_SCOPE_ALLOWS = {
    Scope.EVENTS_PUBLISH: "publish events for its agency, read their delivery status, replay them",
    Scope.INBOX_READ: "read its agency's inbox, escalations, dead letters and duty team",
    Scope.INBOX_ACK: "acknowledge deliveries and close escalations in its agency's inbox",
    Scope.AGREEMENTS_MANAGE: "propose, approve, revise and end its agency's sharing agreements; "
    "review overrides",
    Scope.CONSENT_MANAGE: "record consents, care teams and crisis plans for people it serves",
    Scope.AUDIT_READ: "read its agency's audit trail, exports and timeliness report",
    Scope.AUDIT_ALL: "with audit:read, every agency's audit trail (a regulator or auditor)",
    Scope.METRICS_READ: "scrape /metrics (a monitoring system)",
    Scope.CHANNELS_MANAGE: "choose how its agency's deliveries are pushed (webhook or Kafka)",
    Scope.ADMIN: "administer: agencies, clients, timeframes, duty teams, any agreement",
}


class EscalationStep(StrEnum):
    """What happens, in order, when a delivery misses a deadline (docs/timeframes.md)."""

    DUTY_TEAM = "duty_team"  # an escalation item for the recipient agency's duty team
    COORDINATOR = "coordinator"  # an escalation item for the subject's care-team coordinator
    SENDER_REPORT = "sender_report"  # a non-delivery report in the sender agency's inbox


class BreachKind(StrEnum):
    DELIVERY = "delivery"  # deliver_by passed before the delivery was made available
    ACKNOWLEDGEMENT = "acknowledgement"  # ack_by passed without a business acknowledgement


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # a duty team closed it, with an outcome
    RESOLVED = "resolved"  # the original delivery was acknowledged, which closed it


class EscalationOutcome(StrEnum):
    CONTACTED_RECIPIENT = "contacted_recipient"  # chased the team the alert was for
    ACTIONED = "actioned"  # the duty team acted on the alert itself
    HANDED_OVER = "handed_over"  # passed to another team or the next shift, named in the note
    NO_ACTION_NEEDED = "no_action_needed"


class CrisisPlanStatus(StrEnum):
    PROPOSED = "proposed"  # awaiting confirmation by every partner agency
    ACTIVE = "active"
    SUPERSEDED = "superseded"  # a later plan for the same subject became active
