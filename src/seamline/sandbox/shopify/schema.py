"""The slice of the Admin GraphQL schema the sandbox serves, as a table: enough to refuse an unknown field
the way Shopify does (``undefinedField``) and to price a query before running it (calculated query cost:
objects 1, scalars 0, connections 2 + ``first`` × the node's cost, mutations 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seamline.sandbox.shopify.graphql import (
    Field,
    Fragment,
    FragmentSpread,
    InlineFragment,
    Selection,
    resolve,
)

SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean", "Money", "Decimal", "DateTime", "URL", "JSON"})
MUTATION_COST = 10
MAX_PAGE = 250


@dataclass(frozen=True)
class Spec:
    """One field: the type it returns and how (``scalar``, ``object``, ``list`` of objects, ``connection``)."""

    type: str
    kind: str = "scalar"
    required: tuple[str, ...] = ()
    #: For a ``list``: the argument whose length sizes it (``nodes(ids:)``), for the cost.
    sized_by: str | None = None


def _s(type_: str = "String") -> Spec:
    return Spec(type_)


def _o(type_: str, *required: str) -> Spec:
    return Spec(type_, "object", required)


def _l(type_: str, sized_by: str | None = None, *required: str) -> Spec:
    return Spec(type_, "list", required, sized_by)


def _c(type_: str) -> Spec:
    return Spec(type_, "connection")


USER_ERROR = {"field": _l("String"), "message": _s()}

TYPES: dict[str, dict[str, Spec]] = {
    "QueryRoot": {
        "shop": _o("Shop"),
        "product": _o("Product", "id"),
        "productByIdentifier": _o("Product", "identifier"),
        "products": _c("Product"),
        "productVariant": _o("ProductVariant", "id"),
        "productVariants": _c("ProductVariant"),
        "inventoryItem": _o("InventoryItem", "id"),
        "inventoryItems": _c("InventoryItem"),
        "inventoryLevel": _o("InventoryLevel", "id"),
        "location": _o("Location", "id"),
        "locations": _c("Location"),
        "order": _o("Order", "id"),
        "giftCards": _c("GiftCard"),
        "node": _o("Node", "id"),
        "nodes": _l("Node", "ids", "ids"),
    },
    "Mutation": {
        "productSet": _o("ProductSetPayload", "input"),
        "productUpdate": _o("ProductUpdatePayload"),
        "inventorySetQuantities": _o("InventorySetQuantitiesPayload", "input"),
        "inventoryActivate": _o("InventoryActivatePayload", "inventoryItemId"),
        "fulfillmentCreate": _o("FulfillmentCreatePayload", "fulfillment"),
        "fulfillmentOrderOpen": _o("FulfillmentOrderOpenPayload", "id"),
    },
    "Node": {"id": _s("ID")},
    "Shop": {"id": _s("ID"), "name": _s(), "myshopifyDomain": _s(), "currencyCode": _s()},
    "Product": {
        "id": _s("ID"),
        "legacyResourceId": _s(),
        "title": _s(),
        "handle": _s(),
        "descriptionHtml": _s(),
        "status": _s(),
        "vendor": _s(),
        "productType": _s(),
        "createdAt": _s("DateTime"),
        "updatedAt": _s("DateTime"),
        "options": _l("ProductOption"),
        "variants": _c("ProductVariant"),
        "variantsCount": _o("Count"),
    },
    "Count": {"count": _s("Int"), "precision": _s()},
    "ProductOption": {
        "id": _s("ID"),
        "name": _s(),
        "position": _s("Int"),
        "values": _l("String"),
        "optionValues": _l("ProductOptionValue"),
    },
    "ProductOptionValue": {"id": _s("ID"), "name": _s()},
    "SelectedOption": {"name": _s(), "value": _s()},
    "ProductVariant": {
        "id": _s("ID"),
        "legacyResourceId": _s(),
        "title": _s(),
        "sku": _s(),
        "barcode": _s(),
        "price": _s("Money"),
        "position": _s("Int"),
        "selectedOptions": _l("SelectedOption"),
        "inventoryItem": _o("InventoryItem"),
        "product": _o("Product"),
        "updatedAt": _s("DateTime"),
    },
    "InventoryItem": {
        "id": _s("ID"),
        "legacyResourceId": _s(),
        "sku": _s(),
        "tracked": _s("Boolean"),
        "variant": _o("ProductVariant"),
        "inventoryLevel": _o("InventoryLevel", "locationId"),
        "inventoryLevels": _c("InventoryLevel"),
        "updatedAt": _s("DateTime"),
    },
    "InventoryLevel": {
        "id": _s("ID"),
        "location": _o("Location"),
        "item": _o("InventoryItem"),
        "quantities": _l("InventoryQuantity", None, "names"),
        "updatedAt": _s("DateTime"),
    },
    "InventoryQuantity": {"id": _s("ID"), "name": _s(), "quantity": _s("Int"), "updatedAt": _s("DateTime")},
    "Location": {"id": _s("ID"), "legacyResourceId": _s(), "name": _s(), "isActive": _s("Boolean")},
    "Order": {
        "id": _s("ID"),
        "legacyResourceId": _s(),
        "name": _s(),
        "displayFulfillmentStatus": _s(),
        "fulfillmentOrders": _c("FulfillmentOrder"),
        "fulfillments": _l("Fulfillment"),
    },
    "FulfillmentOrder": {
        "id": _s("ID"),
        "status": _s(),
        "assignedLocation": _o("FulfillmentOrderAssignedLocation"),
        "lineItems": _c("FulfillmentOrderLineItem"),
    },
    "FulfillmentOrderAssignedLocation": {"name": _s(), "location": _o("Location")},
    "FulfillmentOrderLineItem": {
        "id": _s("ID"),
        "sku": _s(),
        "totalQuantity": _s("Int"),
        "remainingQuantity": _s("Int"),
        "lineItem": _o("LineItem"),
    },
    "LineItem": {"id": _s("ID"), "sku": _s(), "quantity": _s("Int"), "title": _s(), "isGiftCard": _s("Boolean")},
    # Admin GraphQL GiftCard (2026-07 added ``lineItem``: the order line that sold it, null when issued by hand).
    "GiftCard": {
        "id": _s("ID"),
        "lastCharacters": _s(),
        "balance": _o("MoneyV2"),
        "initialValue": _o("MoneyV2"),
        "createdAt": _s("DateTime"),
        "enabled": _s("Boolean"),
        "order": _o("Order"),
        "lineItem": _o("LineItem"),
    },
    "MoneyV2": {"amount": _s("Decimal"), "currencyCode": _s()},
    "Fulfillment": {
        "id": _s("ID"),
        "legacyResourceId": _s(),
        "status": _s(),
        "createdAt": _s("DateTime"),
        "trackingInfo": _l("FulfillmentTrackingInfo"),
    },
    "FulfillmentTrackingInfo": {"company": _s(), "number": _s(), "url": _s("URL")},
    "InventoryAdjustmentGroup": {
        "id": _s("ID"),
        "createdAt": _s("DateTime"),
        "reason": _s(),
        "referenceDocumentUri": _s(),
        "changes": _l("InventoryChange"),
    },
    "InventoryChange": {
        "name": _s(),
        "delta": _s("Int"),
        "quantityAfterChange": _s("Int"),
        "item": _o("InventoryItem"),
        "location": _o("Location"),
    },
    "ProductSetPayload": {"product": _o("Product"), "userErrors": _l("ProductSetUserError")},
    "ProductSetUserError": {**USER_ERROR, "code": _s()},
    "ProductUpdatePayload": {"product": _o("Product"), "userErrors": _l("UserError")},
    "UserError": USER_ERROR,
    "InventorySetQuantitiesPayload": {
        "inventoryAdjustmentGroup": _o("InventoryAdjustmentGroup"),
        "userErrors": _l("InventorySetQuantitiesUserError"),
    },
    "InventorySetQuantitiesUserError": {**USER_ERROR, "code": _s()},
    "InventoryActivatePayload": {"inventoryLevel": _o("InventoryLevel"), "userErrors": _l("UserError")},
    "FulfillmentCreatePayload": {"fulfillment": _o("Fulfillment"), "userErrors": _l("UserError")},
    "FulfillmentOrderOpenPayload": {"fulfillmentOrder": _o("FulfillmentOrder"), "userErrors": _l("UserError")},
}

#: Types a ``Node`` may turn out to be, for ``... on Type`` under ``node``/``nodes``.
NODE_TYPES = frozenset(
    {"Product", "ProductVariant", "InventoryItem", "InventoryLevel", "Location", "Order", "FulfillmentOrder"}
)
CONNECTION_FIELDS = frozenset({"nodes", "edges", "pageInfo"})
PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


def page_size(arguments: dict[str, Any]) -> int | None:
    value = arguments.get("first", arguments.get("last"))
    return value if isinstance(value, int) else None


@dataclass
class Check:
    """What validating an operation found: the errors (as Shopify words them) and the requested cost."""

    errors: list[dict[str, Any]]
    cost: int = 0


def _error(message: str, node: Field | FragmentSpread, path: list[str], **extensions: Any) -> dict[str, Any]:
    return {
        "message": message,
        "locations": [{"line": node.line, "column": node.column}],
        "path": path,
        "extensions": extensions,
    }


def check(
    selections: tuple[Selection, ...],
    type_name: str,
    fragments: dict[str, Fragment],
    variables: dict[str, Any],
    path: list[str],
    result: Check,
    *,
    mutation: bool = False,
) -> int:
    """Validate a selection set against the table and answer its cost (Shopify's requested query cost)."""
    total = 0
    for selection in selections:
        if isinstance(selection, FragmentSpread):
            fragment = fragments.get(selection.name)
            if fragment is None:
                result.errors.append(
                    _error(
                        f"Fragment {selection.name} was used, but not defined",
                        selection,
                        path,
                        code="useAndDefineFragment",
                        fragmentName=selection.name,
                    )
                )
                continue
            total += check(fragment.selections, fragment.type_condition, fragments, variables, path, result)
            continue
        if isinstance(selection, InlineFragment):
            inner = selection.type_condition or type_name
            total += check(selection.selections, inner, fragments, variables, path, result)
            continue
        total += _check_field(selection, type_name, fragments, variables, path, result, mutation=mutation)
    return total


def _check_field(
    node: Field,
    type_name: str,
    fragments: dict[str, Fragment],
    variables: dict[str, Any],
    path: list[str],
    result: Check,
    *,
    mutation: bool,
) -> int:
    here = [*path, node.key]
    if node.name == "__typename":
        return 0
    spec = TYPES.get(type_name, {}).get(node.name)
    if spec is None:
        result.errors.append(
            _error(
                f"Field '{node.name}' doesn't exist on type '{type_name}'",
                node,
                here,
                code="undefinedField",
                typeName=type_name,
                fieldName=node.name,
            )
        )
        return 0
    missing = [name for name in spec.required if name not in node.arguments]
    if missing:
        result.errors.append(
            _error(
                f"Field '{node.name}' is missing required arguments: {', '.join(missing)}",
                node,
                here,
                code="missingRequiredArguments",
                className="Field",
                name=node.name,
                arguments=", ".join(missing),
            )
        )
    if spec.type in SCALARS:
        if node.selections is not None:
            result.errors.append(
                _error(
                    f"Selections can't be made on scalars (field '{node.name}' returns {spec.type} but has "
                    "selections [...])",
                    node,
                    here,
                    code="selectionMismatch",
                    nodeName=f"field '{node.name}'",
                    typeName=spec.type,
                )
            )
        return 0
    if node.selections is None:
        result.errors.append(
            _error(
                f"Field must have selections (field '{node.name}' returns {spec.type} but has no selections. "
                "Did you mean '" + node.name + " { ... }'?)",
                node,
                here,
                code="selectionMismatch",
                nodeName=f"field '{node.name}'",
                typeName=spec.type,
            )
        )
        return 0
    if spec.kind == "connection":
        arguments = {key: resolve(value, variables) for key, value in node.arguments.items()}
        size = page_size(arguments)
        if size is None:
            result.errors.append(
                _error("you must provide one of first or last", node, here, code="argumentLiteralsIncompatible")
            )
            size = 0
        return 2 + size * _check_connection(node, spec.type, fragments, variables, here, result)
    inner = check(node.selections, spec.type, fragments, variables, here, result)
    if mutation:
        return MUTATION_COST
    if spec.kind == "list" and spec.sized_by:
        items = resolve(node.arguments.get(spec.sized_by), variables)
        return max(1, len(items) if isinstance(items, list) else 1) * (1 + inner)
    return 1 + inner


def _check_connection(
    node: Field,
    node_type: str,
    fragments: dict[str, Fragment],
    variables: dict[str, Any],
    path: list[str],
    result: Check,
) -> int:
    """Validate ``nodes``/``edges``/``pageInfo`` under a connection; answer the cost of one node."""
    per_node = 0
    for selection in _flatten(node.selections or (), fragments):
        if selection.name == "__typename":
            continue
        if selection.name not in CONNECTION_FIELDS:
            result.errors.append(
                _error(
                    f"Field '{selection.name}' doesn't exist on type '{node_type}Connection'",
                    selection,
                    [*path, selection.key],
                    code="undefinedField",
                    typeName=f"{node_type}Connection",
                    fieldName=selection.name,
                )
            )
            continue
        if selection.name == "pageInfo":
            for info in _flatten(selection.selections or (), fragments):
                if info.name not in PAGE_INFO and info.name != "__typename":
                    result.errors.append(
                        _error(
                            f"Field '{info.name}' doesn't exist on type 'PageInfo'",
                            info,
                            [*path, "pageInfo", info.key],
                            code="undefinedField",
                            typeName="PageInfo",
                            fieldName=info.name,
                        )
                    )
            continue
        if selection.name == "nodes":
            per_node = max(
                per_node, 1 + check(selection.selections or (), node_type, fragments, variables, path, result)
            )
            continue
        for edge_field in _flatten(selection.selections or (), fragments):
            if edge_field.name == "node":
                cost = check(edge_field.selections or (), node_type, fragments, variables, path, result)
                per_node = max(per_node, 1 + cost)
            elif edge_field.name not in ("cursor", "__typename"):
                result.errors.append(
                    _error(
                        f"Field '{edge_field.name}' doesn't exist on type '{node_type}Edge'",
                        edge_field,
                        [*path, "edges", edge_field.key],
                        code="undefinedField",
                        typeName=f"{node_type}Edge",
                        fieldName=edge_field.name,
                    )
                )
    return per_node


def _flatten(selections: tuple[Selection, ...], fragments: dict[str, Fragment]) -> list[Field]:
    fields: list[Field] = []
    for selection in selections:
        if isinstance(selection, Field):
            fields.append(selection)
        elif isinstance(selection, InlineFragment):
            fields.extend(_flatten(selection.selections, fragments))
        elif selection.name in fragments:
            fields.extend(_flatten(fragments[selection.name].selections, fragments))
    return fields
