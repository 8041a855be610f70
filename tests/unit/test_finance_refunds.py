"""What a refund Seamline originates gives back (``finance.refunds``): the units at what the buyer paid for
them, adding up to the line's paid total however they come back, and the shipping only with the refund that
leaves the buyer nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from seamline.domain.commerce import CommerceLine, DiscountAllocation, OrderCommerce, ShippingLine, TaxLine
from seamline.finance.channel import credit_note_lines
from seamline.finance.chart import FinanceConfig, TaxCode
from seamline.finance.refunds import nothing_kept, paid_amounts, refund_of_units, shipping_paid

D = Decimal
CONFIG = FinanceConfig(tax_codes={"NONE": TaxCode("NONE", D(0), "No tax"), "VAT20": TaxCode("VAT20", D("0.2"), "")})


def order(included: bool) -> OrderCommerce:
    """Three lines sharing an 18.00 order discount (9.00, 5.25, 3.75), 20 % VAT added or within."""
    taxes = ("18.50", "10.79", "7.71") if included else ("22.19", "12.95", "9.25")
    lines = tuple(
        CommerceLine(
            f"l{no}",
            sku,
            qty,
            D(price),
            sku,
            no,
            discounts=(DiscountAllocation(D(discount), "SPRING18"),),
            tax_lines=(TaxLine("VAT", D("0.2"), D(tax)),),
        )
        for no, (sku, qty, price, discount, tax) in enumerate(
            zip(
                ("M", "L", "OLV"), (3, 2, 1), ("39.99", "34.99", "49.99"), ("9.00", "5.25", "3.75"), taxes, strict=True
            ),
            start=1,
        )
    )
    shipping = (ShippingLine("DHL", D("5.00") if included else D("4.17"), (), (TaxLine("VAT", D("0.2"), D("0.83")),)),)
    return OrderCommerce("api", "EUR", "EUR", included, lines, None, shipping)


@pytest.mark.parametrize("included", [False, True])
def test_units_returned_one_by_one_add_up_to_what_each_line_was_paid(included: bool) -> None:
    commerce = order(included)
    paid_lines = {False: ("133.16", "77.68", "55.49"), True: ("110.97", "64.73", "46.24")}[included]
    for line, paid in zip(commerce.lines, paid_lines, strict=True):
        assert line.order_line_no is not None
        credits = []
        for before in range(line.qty):
            refund = refund_of_units(
                commerce, f"r{before}", [(line.order_line_no, 1)], {line.order_line_no: before}, with_shipping=False
            )
            assert refund is not None
            [amount] = paid_amounts(refund)
            note = credit_note_lines(refund, commerce, "EUR", CONFIG)
            assert note.total == amount == refund.computed_total
            credits.append(amount)
        assert sum(credits, D(0)) == D(paid), line.title
        # Every unit within a cent of the others: the remainder spread, not dumped on one.
        assert max(credits) - min(credits) <= D("0.02")


def test_units_returned_together_cost_what_the_same_units_returned_one_by_one_cost() -> None:
    commerce = order(False)
    together = refund_of_units(commerce, "r", [(1, 2)], {}, with_shipping=False)
    apart = [refund_of_units(commerce, f"r{n}", [(1, 1)], {1: n}, with_shipping=False) for n in range(2)]
    assert together is not None
    assert all(r is not None for r in apart)
    assert paid_amounts(together) == [sum((paid_amounts(r)[0] for r in apart if r is not None), D(0))]


@pytest.mark.parametrize(("included", "back"), [(False, D("5.00")), (True, D("5.00"))])
def test_shipping_goes_back_as_the_buyer_paid_it_with_its_tax(included: bool, back: Decimal) -> None:
    [adjustment] = shipping_paid(order(included))
    assert (adjustment.kind, adjustment.amount, adjustment.tax) == ("shipping", back, D("0.83"))
    whole = refund_of_units(order(included), "r", [(1, 3), (2, 2), (3, 1)], {}, with_shipping=True)
    assert whole is not None
    note = credit_note_lines(whole, order(included), "EUR", CONFIG)
    assert note.total == whole.computed_total == {False: D("271.33"), True: D("226.94")}[included]
    [ship] = [li for li in note.lines if li.sku == "shipping"]
    assert (ship.gross, ship.tax, ship.tax_code) == (D("5.00"), D("0.83"), "VAT20")


def test_the_order_is_given_back_only_when_no_unit_is_kept() -> None:
    lines = [(1, 3, 1), (2, 2, 0)]  # line 1: one unit cancelled or returned before
    assert not nothing_kept(lines, {1: 2})
    assert not nothing_kept(lines, {1: 1, 2: 2})
    assert nothing_kept(lines, {1: 2, 2: 2})
    assert not nothing_kept([], {})
