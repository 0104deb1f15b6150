"""IMB's CodeSystems follow its vocabularies, and its CapabilityStatement says what it does."""

import ast
import sys
from pathlib import Path

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.messagedefinition import MessageDefinition

from adapters.fhir import CODE_SYSTEMS, all_code_systems, capability_statement, code_system
from adapters.fhir.capability import message_definition
from schemas.vocabulary import ConsentState, EventType, RiskLevel

PACKAGE = Path(__file__).resolve().parents[2] / "adapters" / "fhir"


def test_every_code_system_is_a_valid_active_fhir_code_system() -> None:
    for resource in all_code_systems():
        parsed = CodeSystem.parse_obj(resource)

        assert parsed.status == "active"
        assert parsed.url == f"https://interagency-broker.uk/fhir/CodeSystem/{parsed.id}"


def test_codes_are_the_vocabulary_values_displayed_in_words() -> None:
    levels = code_system(CODE_SYSTEMS["imb-risk-level"])

    assert levels["content"] == "complete"
    assert [c["code"] for c in levels["concept"]] == [level.value for level in RiskLevel]
    assert {"code": "very_high", "display": "very high"} in levels["concept"]


def test_every_consent_state_has_its_code() -> None:
    states = code_system(CODE_SYSTEMS["imb-consent-state"])

    assert [c["code"] for c in states["concept"]] == [state.value for state in ConsentState]


def test_event_codes_are_the_event_types_spelled_for_fhir_and_the_acknowledgement() -> None:
    events = code_system(CODE_SYSTEMS["imb-event-type"])

    assert [c["code"] for c in events["concept"]] == [
        *(event.value.replace(".", "-") for event in EventType),
        "acknowledgement",
    ]


def test_the_capability_statement_offers_messaging_and_consent() -> None:
    statement = capability_statement(
        date="2026-03-01", software_version="0.1.0", base_url="https://imb.example/fhir/R4"
    )

    CapabilityStatement.parse_obj(statement)

    assert (statement["kind"], statement["fhirVersion"]) == ("instance", "4.0.1")
    rest = statement["rest"][0]
    assert [o["name"] for o in rest["operation"]] == ["process-message"]
    consent = rest["resource"][0]
    assert consent["type"] == "Consent"
    assert [i["code"] for i in consent["interaction"]] == ["create", "search-type"]
    assert consent["searchParam"][0]["name"] == "patient.identifier"
    messaging = statement["messaging"][0]
    supported = {
        (m["mode"], m["definition"].rsplit("/", 1)[1]) for m in messaging["supportedMessage"]
    }
    assert ("receiver", "acknowledgement") in supported
    assert ("sender", "crisis-occurred") in supported
    assert messaging["endpoint"][0]["address"] == "https://imb.example/fhir/R4/$process-message"


def test_every_event_message_asks_for_a_response_as_imb_escalates_every_silence() -> None:
    for code in ("risk-changed", "engagement-disengaged", "crisis-occurred"):
        definition = message_definition(code)

        MessageDefinition.parse_obj(definition)

        assert definition["responseRequired"] == "always"
    assert "responseRequired" not in message_definition("acknowledgement")


# The modules that plug the mapping into the broker; every other one is pure mapping.
PLUG = {"extension.py", "routes.py"}


def test_the_fhir_mapping_imports_only_the_wire_contract_and_its_libraries() -> None:
    allowed = {"schemas", "consent", "pydantic", "fhir", *sys.stdlib_module_names}
    for module in PACKAGE.glob("*.py"):
        if module.name in PLUG:
            continue
        for name in _imports(module):
            assert name.startswith("adapters.fhir") or name.split(".")[0] in allowed, (
                module.name,
                name,
            )


def test_the_adapter_depends_on_the_broker_and_never_the_other_way_round() -> None:
    plugged = {name.split(".")[0] for module in PLUG for name in _imports(PACKAGE / module)}
    broker = PACKAGE.parents[1] / "broker"
    from_broker = {
        (module.name, name)
        for module in broker.rglob("*.py")
        for name in _imports(module)
        if name.split(".")[0] == "adapters"
    }
    assert "broker" in plugged
    assert from_broker == set()


def _imports(module: Path) -> list[str]:
    nodes = list(ast.walk(ast.parse(module.read_text())))
    names = [n.module or "" for n in nodes if isinstance(n, ast.ImportFrom)]
    return names + [a.name for n in nodes if isinstance(n, ast.Import) for a in n.names]
