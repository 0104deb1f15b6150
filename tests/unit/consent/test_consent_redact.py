"""Data minimisation: payload field paths, what an agreement's data items remove, and removal."""

import copy

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consent.redact import field_paths, path_allowed, redact, redaction

CRISIS_PAYLOAD: dict[str, object] = {
    "started_at": "2026-11-22T03:10:00+00:00",
    "presentation": "Found on a bridge parapet; talked down by police.",
    "immediate_risk": True,
    "services_involved": ["police", "ambulance"],
    "crisis_plan_id": None,
    "escalation_summary": {
        "what_has_been_done": "Assessed in A&E.",
        "what_has_changed": "New statement of intent.",
        "what_is_requested": "Daily welfare visits for a week.",
    },
}

DISENGAGED_PAYLOAD: dict[str, object] = {
    "missed_contacts": 3,
    "attempts": [
        {"at": "2026-11-20T10:00:00+00:00", "method": "phone", "outcome": "No answer"},
        {"at": "2026-11-21T10:00:00+00:00", "method": "visit", "outcome": "Not at home"},
    ],
    "actions_requested": [],
}


# field_paths --------------------------------------------------------------------------------


def test_field_paths_name_every_leaf_by_its_dotted_path() -> None:
    assert field_paths(CRISIS_PAYLOAD) == {
        "started_at",
        "presentation",
        "immediate_risk",
        "services_involved",
        "crisis_plan_id",
        "escalation_summary.what_has_been_done",
        "escalation_summary.what_has_changed",
        "escalation_summary.what_is_requested",
    }


def test_list_elements_share_their_list_path() -> None:
    assert field_paths(DISENGAGED_PAYLOAD) == {
        "missed_contacts",
        "attempts.at",
        "attempts.method",
        "attempts.outcome",
        "actions_requested",
    }


def test_empty_containers_are_leaves_because_their_emptiness_is_information() -> None:
    assert field_paths({"actions_taken": [], "summary": {}}) == {"actions_taken", "summary"}


def test_empty_payload_has_no_field_paths() -> None:
    assert field_paths({}) == frozenset()


# redaction ----------------------------------------------------------------------------------


def test_redaction_names_the_shortest_prefixes_that_keep_nothing_sorted() -> None:
    present = field_paths(CRISIS_PAYLOAD)

    removed = redaction(present, ["immediate_risk", "escalation_summary.what_is_requested"])

    assert removed == (
        "crisis_plan_id",
        "escalation_summary.what_has_been_done",
        "escalation_summary.what_has_changed",
        "presentation",
        "services_involved",
        "started_at",
    )


def test_redaction_removes_a_whole_object_when_nothing_in_it_is_kept() -> None:
    removed = redaction(field_paths(CRISIS_PAYLOAD), ["presentation"])

    assert "escalation_summary" in removed
    assert not any(path.startswith("escalation_summary.") for path in removed)


def test_redaction_of_list_elements_names_the_field_removed_from_every_element() -> None:
    removed = redaction(field_paths(DISENGAGED_PAYLOAD), ["attempts.method", "missed_contacts"])

    assert removed == ("actions_requested", "attempts.at", "attempts.outcome")


def test_redaction_is_empty_when_everything_is_allowed() -> None:
    assert redaction(field_paths(CRISIS_PAYLOAD), None) == ()


def test_redaction_of_an_allowed_item_that_is_absent_removes_everything_present() -> None:
    assert redaction(frozenset({"a.x", "a.y"}), ["a.z"]) == ("a",)


def test_allowed_path_matches_whole_segments_only() -> None:
    assert path_allowed("current_level", ["current_level"])
    assert path_allowed("escalation_summary.what_is_requested", ["escalation_summary"])
    assert not path_allowed("current_level", ["current"])
    assert not path_allowed("escalation_summary", ["escalation_summary.what_is_requested"])


# redact -------------------------------------------------------------------------------------


def test_redact_keeps_an_allowed_nested_field_and_drops_its_siblings() -> None:
    kept = redact(CRISIS_PAYLOAD, ["escalation_summary.what_is_requested", "immediate_risk"])

    assert kept == {
        "immediate_risk": True,
        "escalation_summary": {"what_is_requested": "Daily welfare visits for a week."},
    }


def test_redact_keeps_the_whole_subtree_of_an_allowed_path() -> None:
    kept = redact(CRISIS_PAYLOAD, ["escalation_summary"])

    assert kept == {"escalation_summary": CRISIS_PAYLOAD["escalation_summary"]}


def test_redact_keeps_the_allowed_field_in_every_list_element() -> None:
    kept = redact(DISENGAGED_PAYLOAD, ["attempts.method"])

    assert kept == {"attempts": [{"method": "phone"}, {"method": "visit"}]}


def test_redact_keeps_a_list_of_plain_values_whole() -> None:
    kept = redact(CRISIS_PAYLOAD, ["services_involved"])

    assert kept == {"services_involved": ["police", "ambulance"]}


def test_redact_drops_list_elements_left_with_nothing_allowed() -> None:
    mixed = {"attempts": [{"method": "phone"}, {"outcome": "No answer"}]}

    assert redact(mixed, ["attempts.method"]) == {"attempts": [{"method": "phone"}]}


def test_redact_drops_a_plain_value_where_only_fields_beneath_it_are_allowed() -> None:
    flattened = {"escalation_summary": "Everything in one string."}

    assert redact(flattened, ["escalation_summary.what_is_requested"]) == {}


def test_redact_keeps_an_allowed_null_value() -> None:
    assert redact(CRISIS_PAYLOAD, ["crisis_plan_id"]) == {"crisis_plan_id": None}


def test_redact_with_nothing_allowed_is_empty() -> None:
    assert redact(CRISIS_PAYLOAD, []) == {}


def test_redact_with_everything_allowed_is_an_equal_copy() -> None:
    kept = redact(CRISIS_PAYLOAD, None)

    assert kept == CRISIS_PAYLOAD
    assert kept is not CRISIS_PAYLOAD
    assert kept["escalation_summary"] is not CRISIS_PAYLOAD["escalation_summary"]


def test_redact_does_not_change_its_input() -> None:
    before = copy.deepcopy(DISENGAGED_PAYLOAD)

    kept = redact(DISENGAGED_PAYLOAD, ["attempts"])
    kept["attempts"][0]["method"] = "letter"  # type: ignore[index]

    assert before == DISENGAGED_PAYLOAD


# Properties ---------------------------------------------------------------------------------

# The generated values are narrow enough that fifty examples reach every rule; more would slow
# the unit suite without finding more.
examples = settings(max_examples=50)
# Few key names, so that generated allowed paths often meet generated payloads.
keys = st.sampled_from(["a", "b", "c"])
scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "y"])
payload_values = st.recursive(
    scalars,
    lambda inner: (
        st.dictionaries(keys, inner, max_size=3)
        | st.lists(st.dictionaries(keys, inner, max_size=3), max_size=3)
        | st.lists(scalars, max_size=3)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(keys, payload_values, max_size=3)
paths = st.lists(keys, min_size=1, max_size=3).map(".".join)
allowances = st.none() | st.lists(paths, max_size=4)


def _leaves(value: object, path: str = "") -> set[tuple[str, str]]:
    """Every (path, value) leaf, with the value as repr so that lists and dicts compare."""
    if isinstance(value, dict) and value:
        return {leaf for key, child in value.items() for leaf in _leaves(child, _join(path, key))}
    if isinstance(value, list) and value:
        return {leaf for element in value for leaf in _leaves(element, path)}
    return {(path, repr(value))} if path else set()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@examples
@given(payloads, allowances)
def test_redact_never_adds_a_field_path_or_value(
    payload: dict[str, object], allowed: list[str] | None
) -> None:
    kept = redact(payload, allowed)

    assert _leaves(kept) <= _leaves(payload)
    assert field_paths(kept) <= field_paths(payload)


@examples
@given(payloads, st.lists(paths, max_size=4))
def test_redact_keeps_exactly_the_allowed_field_paths(
    payload: dict[str, object], allowed: list[str]
) -> None:
    kept = redact(payload, allowed)

    assert field_paths(kept) == {p for p in field_paths(payload) if path_allowed(p, allowed)}


@examples
@given(payloads, allowances)
def test_redact_is_idempotent(payload: dict[str, object], allowed: list[str] | None) -> None:
    once = redact(payload, allowed)

    assert redact(once, allowed) == once


@examples
@given(payloads, allowances)
def test_redact_never_changes_its_input(
    payload: dict[str, object], allowed: list[str] | None
) -> None:
    before = copy.deepcopy(payload)

    redact(payload, allowed)

    assert payload == before


@examples
@given(payloads, st.lists(paths, max_size=4))
def test_removing_the_redaction_paths_leaves_what_redact_keeps(
    payload: dict[str, object], allowed: list[str]
) -> None:
    present = field_paths(payload)
    # A list that mixes plain values with objects gives one path both as a leaf and as a
    # parent; redaction reports such a path whole, so the correspondence is shown without it.
    assume(not any(q.startswith(f"{p}.") for p in present for q in present))

    removed = redaction(present, allowed)

    remaining = {p for p in present if not any(_within(p, prefix) for prefix in removed)}
    assert remaining == field_paths(redact(payload, allowed))
    assert list(removed) == sorted(set(removed))


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}.")
