"""Shapes resolver results into exactly what a selection set asked for (aliases, fragments, connections,
``@include``/``@skip``), counting the objects it returns: the actual query cost."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seamline.sandbox.shopify.graphql import Field, Fragment, FragmentSpread, InlineFragment, Selection, resolve
from seamline.sandbox.shopify.schema import MAX_PAGE, SCALARS, TYPES, Spec, page_size


@dataclass
class Obj:
    """A resolved object: field values, or callables of the field's arguments for fields that take some."""

    typename: str
    fields: dict[str, Any] = field(default_factory=dict)


Lazy = Callable[[dict[str, Any]], Any]


@dataclass
class Projection:
    fragments: dict[str, Fragment]
    variables: dict[str, Any]
    cost: int = 0

    def selected(self, selections: tuple[Selection, ...], typename: str) -> list[Field]:
        fields: list[Field] = []
        for selection in selections:
            if isinstance(selection, Field):
                if self._included(selection):
                    fields.append(selection)
            elif isinstance(selection, InlineFragment):
                if selection.type_condition in (None, typename, "Node"):
                    fields.extend(self.selected(selection.selections, typename))
            elif isinstance(selection, FragmentSpread):
                fragment = self.fragments[selection.name]
                if fragment.type_condition in (typename, "Node"):
                    fields.extend(self.selected(fragment.selections, typename))
        return fields

    def _included(self, node: Field) -> bool:
        for directive in node.directives:
            condition = resolve(directive.arguments.get("if"), self.variables)
            if directive.name == "include" and not condition:
                return False
            if directive.name == "skip" and condition:
                return False
        return True

    def arguments(self, node: Field) -> dict[str, Any]:
        return {key: resolve(value, self.variables) for key, value in node.arguments.items()}

    def project(self, value: Obj | None, selections: tuple[Selection, ...]) -> dict[str, Any] | None:
        if value is None:
            return None
        out: dict[str, Any] = {}
        for node in self.selected(selections, value.typename):
            if node.name == "__typename":
                out[node.key] = value.typename
                continue
            spec = TYPES[value.typename][node.name]
            raw = value.fields.get(node.name)
            if callable(raw):
                raw = raw(self.arguments(node))
            out[node.key] = self.shape(raw, spec, node)
        return out

    def shape(self, raw: Any, spec: Spec, node: Field) -> Any:
        if spec.type in SCALARS:
            return raw
        if spec.kind == "object":
            if raw is not None:
                self.cost += 1
            return self.project(raw, node.selections or ())
        if spec.kind == "list":
            items = list(raw or [])
            self.cost += len(items)
            return [self.project(item, node.selections or ()) for item in items]
        return self.connection(list(raw or []), node, spec.type)

    def connection(self, items: list[Obj], node: Field, node_type: str) -> dict[str, Any]:
        arguments = self.arguments(node)
        after = _decode(arguments.get("after"))
        before = _decode(arguments.get("before"))
        start = 0 if after is None else after + 1
        end = len(items) if before is None else before
        window = list(enumerate(items))[start:end]
        size = min(page_size(arguments) or MAX_PAGE, MAX_PAGE)
        page = window[-size:] if "last" in arguments and "first" not in arguments else window[:size]
        self.cost += 2 + len(page)
        out: dict[str, Any] = {}
        for part in self.selected(node.selections or (), "Connection"):
            if part.name == "nodes":
                out[part.key] = [self.project(item, part.selections or ()) for _, item in page]
            elif part.name == "edges":
                edges = []
                for index, item in page:
                    edge: dict[str, Any] = {}
                    for edge_field in self.selected(part.selections or (), "Edge"):
                        if edge_field.name == "cursor":
                            edge[edge_field.key] = _encode(index)
                        elif edge_field.name == "node":
                            edge[edge_field.key] = self.project(item, edge_field.selections or ())
                        else:
                            edge[edge_field.key] = node_type + "Edge"
                    edges.append(edge)
                out[part.key] = edges
            elif part.name == "pageInfo":
                first_index = page[0][0] if page else start
                last_index = page[-1][0] if page else start
                info = {
                    "hasNextPage": bool(page) and last_index + 1 < len(items),
                    "hasPreviousPage": bool(page) and first_index > 0,
                    "startCursor": _encode(first_index) if page else None,
                    "endCursor": _encode(last_index) if page else None,
                }
                out[part.key] = {
                    f.key: ("PageInfo" if f.name == "__typename" else info[f.name])
                    for f in self.selected(part.selections or (), "PageInfo")
                }
            else:
                out[part.key] = node_type + "Connection"
        return out


def _encode(index: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{index}".encode()).decode()


def _decode(cursor: Any) -> int | None:
    """The index a cursor names; None for no cursor (an unreadable one reads as none too)."""
    if not isinstance(cursor, str):
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("cursor:"))
    except ValueError:
        return None
