"""Return rules: never more than sold, matched to lines in order, refunded to the original tenders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from seamline.domain.commerce import CommerceLine, DiscountAllocation, OrderCommerce, TaxLine
from seamline.domain.errors import InvalidInput
from seamline.orders.model import Condition, LineState
from seamline.orders.returns import ORIGINAL_PAYMENT, ReturnRequestLine, plan_return, split_refund
from seamline.service.orders.returns import paid_return

D = Decimal


def test_returned_units_are_matched_to_lines_that_sold_them_in_line_order() -> None:
    lines = [LineState(1, "M", 2, D("80.00"), picked=1), LineState(2, "M", 2, D("89.00"), picked=2, returned=1)]
    planned = plan_return(lines, [ReturnRequestLine("M", 2, "sellable")])
    assert [(p.order_line_no, p.qty, p.amount) for p in planned] == [(1, 1, D("80.00")), (2, 1, D("89.00"))]
    assert planned[0].condition is Condition.SELLABLE


def test_returning_more_than_sold_is_refused_with_the_line_named() -> None:
    lines = [LineState(1, "M", 3, D("10"), allocated=2, picked=1)]
    with pytest.raises(InvalidInput) as caught:
        plan_return(lines, [ReturnRequestLine("M", 2, "damaged")])
    assert caught.value.code == "return-exceeds-sold"
    assert caught.value.errors[0].field == "lines[0].qty"


def test_a_sku_not_on_the_order_or_a_bad_condition_is_refused() -> None:
    lines = [LineState(1, "M", 1, D("10"), picked=1)]
    with pytest.raises(InvalidInput) as unknown:
        plan_return(lines, [ReturnRequestLine("L", 1, "sellable")])
    assert unknown.value.code == "sku-not-on-order"
    with pytest.raises(InvalidInput) as bad:
        plan_return(lines, [ReturnRequestLine("M", 1, "worn")])
    assert bad.value.code == "validation-error"


def test_refund_goes_to_the_preferred_original_tender_then_the_others() -> None:
    tenders = [("cash", D("50")), ("card", D("128"))]
    assert split_refund(D("89"), tenders, {}, "cash") == [("cash", D("50")), ("card", D("39"))]
    assert split_refund(D("89"), tenders, {"cash": D("50")}, "cash") == [("card", D("89"))]
    assert split_refund(D("20"), tenders, {}, None) == [("cash", D("20"))]


def test_refund_to_a_tender_the_order_was_not_paid_with_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        split_refund(D("10"), [("card", D("10"))], {}, "gift_card")
    assert caught.value.code == "refund-tender-mismatch"


def test_an_order_paid_through_the_channel_is_refunded_to_its_original_payment() -> None:
    assert split_refund(D("10"), [], {}, None) == [(ORIGINAL_PAYMENT, D("10"))]
    assert split_refund(D("0"), [("card", D("10"))], {}, None) == []


def _sold(kind: str, *, has_taxes: str | None = None) -> dict[str, object]:
    """An order of 2 × 40.00 with 10.00 off the line and 20 % VAT on top (what was paid: 84.00), shipped."""
    line = CommerceLine(
        "1",
        "Tee",
        2,
        D("40.00"),
        "TEE",
        1,
        discounts=(DiscountAllocation(D("10.00")),),
        tax_lines=(TaxLine("VAT", D("0.2"), D("14.00")),),
    )
    totals = {} if has_taxes is None else {"has_taxes": has_taxes}
    commerce = OrderCommerce("api", "EUR", "EUR", False, (line,), D("84.00"), channel_totals=totals)
    state = LineState(1, "TEE", 2, D("40.00"), picked=2, packed=2, shipped=2)
    return {"kind": kind, "lines": [state], "commerce": commerce.as_json()}


def test_a_return_of_an_order_carrying_its_channels_money_is_at_what_was_paid_per_unit() -> None:
    planned = plan_return([LineState(1, "TEE", 2, D("40.00"), picked=2)], [ReturnRequestLine("TEE", 1, "sellable")])
    assert [p.amount for p in planned] == [D("40.00")]  # the line's unit price, before the discount and tax
    paid, refund = paid_return(_sold("dtc"), "ret_1", planned)
    assert [p.amount for p in paid] == [D("42.00")]  # (80.00 - 10.00) / 2 + 14.00 / 2
    assert refund is not None
    assert refund.computed_total == D("42.00")
    # A till sale receipted at its lines' prices and our chart's tax is credited the same way.
    same, none = paid_return(_sold("pos", has_taxes="false"), "ret_2", planned)
    assert (same, none) == (planned, None)
    till, found = paid_return(_sold("pos", has_taxes="true"), "ret_3", planned)
    assert [p.amount for p in till] == [D("42.00")]
    assert found is not None
