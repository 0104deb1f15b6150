"""The field paths of a wire model, as agreements name them in `data_items`."""

import types
import typing

from pydantic import BaseModel


def model_paths(model: type[BaseModel], prefix: str = "") -> frozenset[str]:
    """Every leaf path of the model (`escalation_summary.what_is_requested`); the elements of
    a list of models share the list's path."""
    paths: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _nested_model(info.annotation)
        paths.update(model_paths(nested, f"{path}.") if nested else {path})
    return frozenset(paths)


def _nested_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for argument in typing.get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def names_a_field(path: str, paths: frozenset[str]) -> bool:
    """Whether `path` is one of the paths or a branch above some of them."""
    return path in paths or any(p.startswith(f"{path}.") for p in paths)
