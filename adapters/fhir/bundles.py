"""The entries of a message Bundle, and a resource's contained resources: building them, and
resolving the references that point at them."""

from typing import Any, Protocol
from uuid import UUID, uuid5

from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.names import urn_uuid


class EntryUrls:
    """fullUrls derived from the message header's id, so that the same message always gives
    the same Bundle (a push repeated, an example regenerated)."""

    def __init__(self, header_id: str) -> None:
        self._namespace = UUID(header_id)

    def __call__(self, name: str) -> str:
        return urn_uuid(uuid5(self._namespace, name))


def entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def reference(full_url: str) -> dict[str, str]:
    return {"reference": full_url}


class Resolver(Protocol):
    def resolve(self, ref: Element, kinds: tuple[str, ...], what: str) -> Element: ...


class BundleView:
    """A submitted Bundle's entries, for resolving references by fullUrl or `Type/id`."""

    def __init__(self, bundle: Element) -> None:
        self.entries = [e.require("resource", "an entry's resource") for e in bundle.items("entry")]
        self._by_url: dict[str, Element] = {}
        for item, resource in zip(bundle.items("entry"), self.entries, strict=True):
            resource.obj("an entry's resource")
            full_url = item.get("fullUrl")
            if full_url is not None and isinstance(full_url.value, str):
                self._by_url[full_url.value] = resource
            kind, local_id = resource.value.get("resourceType"), resource.value.get("id")
            if isinstance(kind, str) and isinstance(local_id, str):
                self._by_url.setdefault(f"{kind}/{local_id}", resource)

    def resolve(self, ref: Element, kinds: tuple[str, ...], what: str) -> Element:
        """The entry a Reference points at, which must be one of `kinds`."""
        target = ref.obj(what).require("reference", what)
        resource = self._by_url.get(target.text(what))
        if resource is None:
            raise refuse(
                "not-found", f"{what} does not resolve to an entry of the Bundle", ref.path
            )
        return _of_kind(resource, kinds, what, target)


class ContainedView:
    """A resource's contained resources, for resolving `#id` references."""

    def __init__(self, owner: Element) -> None:
        self._by_id: dict[str, Element] = {}
        for resource in owner.items("contained"):
            local_id = resource.obj("a contained resource").value.get("id")
            if isinstance(local_id, str):
                self._by_id[f"#{local_id}"] = resource

    def resolve(self, ref: Element, kinds: tuple[str, ...], what: str) -> Element:
        target = ref.obj(what).require("reference", what)
        resource = self._by_id.get(target.text(what))
        if resource is None:
            raise refuse("not-found", f"{what} does not resolve to a contained resource", ref.path)
        return _of_kind(resource, kinds, what, target)

    def kind_of(self, target: str) -> object:
        resource = self._by_id.get(target)
        return None if resource is None else resource.value.get("resourceType")


def _of_kind(resource: Element, kinds: tuple[str, ...], what: str, target: Element) -> Element:
    if resource.value.get("resourceType") not in kinds:
        raise refuse("invalid", f"{what} must be a {' or '.join(kinds)}", target.path)
    return resource


def resource_type(resource: Element) -> object:
    return resource.value.get("resourceType") if isinstance(resource.value, dict) else None
