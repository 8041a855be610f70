"""plan_movement: which two locations each directly posted kind joins, and every way a request is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.domain import InvalidInput
from seamline.ledger import LocationKind, MovementKind, MovementRequest, plan_alike, plan_movement
from seamline.ledger.model import VIRTUAL_LOCATIONS, PlannedMovement

SKU = "OVS-001-NVY-M"
LOCATIONS: dict[str, LocationKind] = {
    **{code: LocationKind(code) for code in VIRTUAL_LOCATIONS},
    "WH": LocationKind.WAREHOUSE,
    "STORE-1": LocationKind.STORE,
    "3PL": LocationKind.THREEPL,
}


def plan(kind: str, qty: int = 3, **fields: str | None) -> PlannedMovement:
    return plan_movement(MovementRequest(kind=kind, sku=SKU, qty=qty, **fields), LOCATIONS)


def refused(kind: str, qty: object = 3, **fields: str | None) -> InvalidInput:
    request = MovementRequest(kind=kind, sku=SKU, qty=qty, **fields)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        plan_movement(request, LOCATIONS)
    return exc.value


def sides(movement: PlannedMovement) -> tuple[str, str, bool]:
    return movement.from_location, movement.to_location, movement.checked


# ------------------------------------------------------------------------------------------------ receipts


@pytest.mark.parametrize("to", ["WH", "STORE-1", "3PL"])
def test_receipt_comes_from_the_supplier_into_any_physical_location_unchecked(to: str) -> None:
    movement = plan("receipt", to_location=to, document="PO-1", channel=None)
    assert sides(movement) == ("supplier", to, False)
    assert movement.kind is MovementKind.RECEIPT
    assert (movement.sku, movement.qty, movement.document) == (SKU, 3, "PO-1")


def test_receipt_naming_the_supplier_explicitly_is_the_same_receipt() -> None:
    assert sides(plan("receipt", from_location="supplier", to_location="WH")) == ("supplier", "WH", False)


def test_receipt_from_anywhere_but_the_supplier_is_refused() -> None:
    error = refused("receipt", from_location="STORE-1", to_location="WH")
    assert [(e.field, e.message) for e in error.errors] == [("from", "must be omitted or 'supplier'")]
    assert error.detail == "a receipt always goes from supplier"


@pytest.mark.parametrize("cost", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), "5.00"])
def test_receipt_with_a_negative_or_unreadable_unit_cost_is_refused_naming_unit_cost(cost: object) -> None:
    """The bulk receipt refuses such a line; one movement at a time refuses it too (it would take value out)."""
    request = MovementRequest(kind="receipt", sku=SKU, qty=1, to_location="WH", unit_cost=cost)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        plan_movement(request, LOCATIONS)
    assert [e.field for e in exc.value.errors] == ["unit_cost"]


def test_receipt_at_a_unit_cost_of_zero_is_planned_with_it() -> None:
    request = MovementRequest(kind="receipt", sku=SKU, qty=1, to_location="WH", unit_cost=Decimal(0))
    assert plan_movement(request, LOCATIONS).unit_cost == Decimal(0)


def test_receipt_without_a_destination_is_refused_naming_to() -> None:
    error = refused("receipt")
    assert [(e.field, e.message) for e in error.errors] == [("to", "is required")]


@pytest.mark.parametrize("virtual", sorted(VIRTUAL_LOCATIONS))
def test_receipt_into_a_virtual_location_is_refused(virtual: str) -> None:
    error = refused("receipt", to_location=virtual)
    assert [(e.field, e.message) for e in error.errors] == [("to", "must be a warehouse, store or 3PL location")]
    assert error.detail == f"{virtual} is a virtual location"


# --------------------------------------------------------------------------------------------- adjustments


def test_adjustment_gain_names_to_and_comes_from_the_adjustment_location() -> None:
    movement = plan("adjustment", to_location="STORE-1", reason="found in back room")
    assert sides(movement) == ("adjustment", "STORE-1", False)
    assert movement.reason == "found in back room"


def test_adjustment_loss_names_from_goes_to_the_adjustment_location_and_is_checked() -> None:
    assert sides(plan("adjustment", from_location="WH", reason="shrink")) == ("WH", "adjustment", True)


def test_adjustment_naming_both_sides_is_refused_on_both_fields() -> None:
    error = refused("adjustment", from_location="WH", to_location="STORE-1", reason="x")
    assert [e.field for e in error.errors] == ["from", "to"]


def test_adjustment_naming_neither_side_is_refused_on_both_fields() -> None:
    error = refused("adjustment", reason="x")
    assert [(e.field, e.message) for e in error.errors] == [
        ("from", "give either from or to"),
        ("to", "give either from or to"),
    ]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_adjustment_without_a_reason_is_refused(reason: str | None) -> None:
    error = refused("adjustment", to_location="WH", reason=reason)
    assert [(e.field, e.message) for e in error.errors] == [("reason", "is required")]


def test_adjustment_against_a_virtual_location_is_refused() -> None:
    error = refused("adjustment", from_location="damaged", reason="x")
    assert [e.field for e in error.errors] == ["from"]


# ---------------------------------------------------------------------------- damage, samples, staff sales


@pytest.mark.parametrize(
    ("kind", "sink"),
    [("damage", "damaged"), ("sample", "samples"), ("employee_purchase", "customer")],
)
def test_outbound_kinds_go_from_a_physical_location_to_their_fixed_sink_and_are_checked(kind: str, sink: str) -> None:
    assert sides(plan(kind, from_location="STORE-1")) == ("STORE-1", sink, True)
    assert sides(plan(kind, from_location="WH", to_location=sink)) == ("WH", sink, True)


@pytest.mark.parametrize(
    ("kind", "sink"),
    [("damage", "damaged"), ("sample", "samples"), ("employee_purchase", "customer")],
)
def test_outbound_kind_to_anything_but_its_sink_is_refused(kind: str, sink: str) -> None:
    error = refused(kind, from_location="WH", to_location="STORE-1")
    assert [(e.field, e.message) for e in error.errors] == [("to", f"must be omitted or {sink!r}")]


@pytest.mark.parametrize("kind", ["damage", "sample", "employee_purchase"])
def test_outbound_kind_without_a_source_is_refused_naming_from(kind: str) -> None:
    error = refused(kind)
    assert [(e.field, e.message) for e in error.errors] == [("from", "is required")]


@pytest.mark.parametrize("kind", ["damage", "sample", "employee_purchase"])
def test_outbound_kind_from_a_virtual_location_is_refused(kind: str) -> None:
    error = refused(kind, from_location="in_transit")
    assert [(e.field, e.message) for e in error.errors] == [("from", "must be a warehouse, store or 3PL location")]


# ------------------------------------------------------------------------------------- refused everywhere


@pytest.mark.parametrize("kind", ["sale", "pick", "return", "transfer_out", "transfer_in", "count"])
def test_document_kinds_cannot_be_posted_directly(kind: str) -> None:
    error = refused(kind, from_location="WH")
    assert [(e.field, e.message) for e in error.errors] == [("kind", "is not a kind that can be posted directly")]
    assert "written by their documents" in error.detail


def test_unknown_kind_is_refused_listing_the_direct_kinds() -> None:
    error = refused("teleport", to_location="WH")
    assert [(e.field, e.message) for e in error.errors] == [
        ("kind", "must be one of adjustment, damage, employee_purchase, receipt, sample")
    ]


@pytest.mark.parametrize(("field", "kwargs"), [("to", {"to_location": "NOWHERE"}), ("from", {"from_location": "X"})])
def test_unknown_location_is_refused_naming_the_side(field: str, kwargs: dict[str, str]) -> None:
    error = refused("adjustment", reason="x", **kwargs)
    assert [e.field for e in error.errors] == [field]
    assert "does not exist" in error.errors[0].message


@pytest.mark.parametrize("qty", [0, -2, 1.5, True, "3"])
def test_quantity_that_is_not_a_positive_whole_number_is_refused(qty: object) -> None:
    error = refused("receipt", qty=qty, to_location="WH")
    assert [e.field for e in error.errors] == ["qty"]


# ------------------------------------------------------------------------------------------ plan_alike
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from([SKU, "OVS-001-NVY-L"]),
            st.one_of(st.integers(-2, 5), st.just(True), st.just("3"), st.just(2.0)),
        ),
        max_size=12,
    ),
    kind=st.sampled_from(["receipt", "adjustment", "damage"]),
    to=st.sampled_from(["WH", "3PL", "supplier", None]),
    where=st.sampled_from(["WH", None]),
)
def test_plan_alike_plans_each_line_as_plan_movement_does(
    lines: list[tuple[str, object]], kind: str, to: str | None, where: str | None
) -> None:
    """Many movements that differ only in SKU and quantity: the same planned movements as one plan_movement
    per line, the same refusals of the kind and sides (raised), and each bad quantity reported by its line."""
    base = {"to_location": to, "from_location": where if kind == "damage" else None, "reason": "counted"}

    def one(sku: str, qty: object) -> PlannedMovement | str:
        try:
            return plan_movement(MovementRequest(kind, sku, qty, **base), LOCATIONS)  # type: ignore[arg-type]
        except InvalidInput as exc:
            return "|".join(f"{e.field}:{e.message}" for e in exc.errors)

    try:
        costed = [(sku, qty, None) for sku, qty in lines]
        planned, bad = plan_alike(MovementRequest(kind, "", 1, **base), costed, LOCATIONS)  # type: ignore[arg-type]
    except InvalidInput:
        # The sides are wrong for every line: each single plan is refused for a reason not about its quantity.
        assert all(not isinstance(one(sku, 1), PlannedMovement) for sku, _ in [(SKU, 1), *lines])
        return
    singles = [one(sku, qty) for sku, qty in lines]
    assert planned == [s for s in singles if isinstance(s, PlannedMovement)]
    assert [i for i, _ in bad] == [i for i, s in enumerate(singles) if not isinstance(s, PlannedMovement)]
    assert [f"{e.field}:{e.message}" for _, e in bad] == [s for s in singles if isinstance(s, str)]
