"""What a refund Seamline originates gives back (issue 17), as pure functions: the money the buyer paid for
the units returned, and the order's shipping when the refund gives back the whole order.

A channel's order is paid at the channel's figures (``OrderCommerce``): per line its price less the
discounts allocated to it (the order's discounts included), its tax added when the order's prices exclude
it. Units returned one by one are credited at that line's per-unit slices, by largest remainder in the
currency's minor unit exactly as the invoices sliced them, so the credits of every unit add up to the
line's paid total to the cent, whatever order the units come back in.

Shipping is paid once per order (per line on Mirakl, per item on Amazon): it goes back only with the refund
that leaves nothing of the order kept, and then all of it, as the channel charged it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from seamline.domain.commerce import OrderCommerce, RefundAdjustment, RefundCommerce
from seamline.finance.amounts import ZERO, to_minor
from seamline.finance.channel import SHIPPING_SKU, refund_of_return

#: A shipping refund's reason names the shipping line it gives back (Mirakl's "shipping (<line id>)").
SHIPPING = SHIPPING_SKU


def nothing_kept(lines: Sequence[tuple[int, int, int]], back: Mapping[int, int]) -> bool:
    """Whether, once ``back`` (order line no → units returned now) is booked, the buyer keeps nothing of the
    order: every unit of every line (order line no, units ordered, units cancelled or returned before) is
    cancelled or returned."""
    return bool(lines) and all(gone + back.get(no, 0) >= qty for no, qty, gone in lines)


def shipping_paid(commerce: OrderCommerce) -> tuple[RefundAdjustment, ...]:
    """The shipping the buyer paid, one refund adjustment per shipping line: its price less its discounts,
    with its tax added when the order's prices exclude it (``amount`` is what goes back, ``tax`` within it)."""
    out = []
    for ship in commerce.shipping:
        tax = to_minor(ship.tax, commerce.currency)
        paid = to_minor(ship.price - ship.discount, commerce.currency) + (ZERO if commerce.taxes_included else tax)
        if paid or tax:
            out.append(RefundAdjustment(SHIPPING, paid, tax, ship.title))
    return tuple(out)


def refund_of_units(
    commerce: OrderCommerce,
    return_id: str,
    lines: Sequence[tuple[int, int]],
    returned: Mapping[int, int],
    *,
    with_shipping: bool,
) -> RefundCommerce | None:
    """What a return booked here gives back at the channel's figures (``finance.channel.refund_of_return``:
    per line the units' slice of the line after discounts and of its tax), and the order's shipping when
    ``with_shipping`` (the return leaves the buyer nothing). None when a returned line is not the channel's."""
    refund = refund_of_return(commerce, return_id, lines, returned)
    if refund is None or not with_shipping:
        return refund
    return RefundCommerce(
        refund.source,
        refund.external_id,
        refund.currency,
        refund.lines,
        (*refund.adjustments, *shipping_paid(commerce)),
        refund.payments,
        refund.channel_total,
        refund.taxes_included,
    )


def paid_amounts(refund: RefundCommerce) -> list[Decimal]:
    """Per refunded line, in the refund's order: what the buyer paid for its units, tax included (what the
    return line records and its refund pays back)."""
    return [li.subtotal + (ZERO if refund.taxes_included else li.tax) for li in refund.lines]
