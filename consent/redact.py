"""Data minimisation: keep only the payload items an agreement allows for an event type.

UK GDPR Art 5(1)(c) (data minimisation) and Caldicott principle 3 (use the minimum necessary):
an agreement lists, per event type, the payload field paths a recipient may see.

Field paths are dotted keys from the payload's top level (`current_level`,
`escalation_summary.what_is_requested`). A path allows its whole subtree. The elements of a list
share their list's path, so `attempts.method` is the `method` of every element of `attempts`.
A leaf is a value that is not a container, or an empty container (its emptiness is itself
information, as `actions_taken: []` says that nothing was done).

Every function here is pure: payloads are read, never changed.
"""

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeGuard

__all__ = ["field_paths", "path_allowed", "redact", "redaction"]

# Returned by _kept() for a value that keeps nothing; None cannot serve, as null is a value.
_NOTHING = object()


def field_paths(payload: Mapping[str, object]) -> frozenset[str]:
    """Every leaf path of the payload."""
    return frozenset(_leaf_paths(payload, ""))


def redaction(present: frozenset[str], allowed: Sequence[str] | None) -> tuple[str, ...]:
    """The paths to remove, each the shortest prefix of a removed leaf that keeps nothing.

    `allowed` None allows everything. Where a list mixes plain values with objects that keep
    something, the plain values are reported by the list's own path.
    """
    if allowed is None:
        return ()
    kept = {path for path in present if path_allowed(path, allowed)}
    removed = present - kept
    return tuple(sorted({_shortest_prefix_keeping_nothing(path, kept) for path in removed}))


def redact(payload: Mapping[str, object], allowed: Sequence[str] | None) -> dict[str, object]:
    """A new payload holding only the allowed items; `allowed` None allows everything."""
    if allowed is None:
        return copy.deepcopy(dict(payload))
    return _kept_mapping(payload, "", allowed)


def path_allowed(path: str, allowed: Sequence[str]) -> bool:
    """Whether an allowed path is this path or one of its ancestors."""
    return any(path == item or path.startswith(f"{item}.") for item in allowed)


def _leaf_paths(value: object, path: str) -> Iterator[str]:
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from _leaf_paths(child, _join(path, key))
    elif _is_list(value) and value:
        for element in value:
            yield from _leaf_paths(element, path)
    elif path:  # the payload's own root is not a field
        yield path


def _shortest_prefix_keeping_nothing(path: str, kept: set[str]) -> str:
    parts = path.split(".")
    for length in range(1, len(parts) + 1):
        prefix = ".".join(parts[:length])
        if not any(_within(other, prefix) for other in kept):
            return prefix
    return path


def _kept(value: object, path: str, allowed: Sequence[str]) -> object:
    """The part of the value at `path` that is allowed, or _NOTHING."""
    if path_allowed(path, allowed):
        return copy.deepcopy(value)
    if not _leads_to_allowed(path, allowed):
        return _NOTHING
    kept: dict[str, object] | list[object]
    if isinstance(value, Mapping):
        kept = _kept_mapping(value, path, allowed)
    elif _is_list(value):
        kept = _kept_elements(value, path, allowed)
    else:
        return _NOTHING  # a plain value on the way to an allowed item is not that item
    # A container emptied here held only items not allowed: dropping it, rather than keeping
    # an empty shell, means the result never shows a path the input did not have.
    return kept if kept else _NOTHING


def _kept_elements(elements: Sequence[object], path: str, allowed: Sequence[str]) -> list[object]:
    kept = (_kept(element, path, allowed) for element in elements)
    return [element for element in kept if element is not _NOTHING]


def _kept_mapping(
    mapping: Mapping[str, object], path: str, allowed: Sequence[str]
) -> dict[str, object]:
    kept: dict[str, object] = {}
    for key, child in mapping.items():
        value = _kept(child, _join(path, key), allowed)
        if value is not _NOTHING:
            kept[key] = value
    return kept


def _leads_to_allowed(path: str, allowed: Sequence[str]) -> bool:
    return not path or any(item.startswith(f"{path}.") for item in allowed)


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}.")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_list(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, list | tuple)
