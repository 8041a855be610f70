"""Mirakl's transaction lines (TL02 ``GET /api/sellerpayment/transactions_logs``) for the sandbox's orders, as
the operator books them and pays them out.

A line shipped in full is settled: ``ORDER_AMOUNT`` (its price after promotions, less what was cancelled) and
``ORDER_SHIPPING_AMOUNT``, their ``*_TAX`` lines when the order's tax mode adds taxes on top
(``TAX_EXCLUDED``), the operator's ``COMMISSION_FEE`` on them and its ``COMMISSION_VAT``; a refund made
(OR28) gives back its amounts as ``REFUND_ORDER_*`` lines and the commission on them as
``REFUND_COMMISSION_*``. A billing cycle pays what is payable: all of it carries the cycle's
``payment_voucher_number`` and a ``PAYMENT`` line debits the seller's balance by the sum, to the bank.
Amounts are signed from the seller's side (``amount``; ``amount_credited``/``amount_debited`` beside it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from seamline.sandbox.mirakl.orders import Order, OrderLine

CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class TransactionLog:
    """Numbers the lines of one billing cycle and keeps what was settled, so nothing is paid out twice."""

    def __init__(self) -> None:
        self.settled: set[str] = set()
        self._next_line = 1
        self._next_voucher = 1

    def cycle(
        self,
        orders: Iterable[Order],
        now: datetime,
        *,
        commission_rate: Decimal = Decimal("0.12"),
        commission_vat_rate: Decimal = Decimal("0.19"),
    ) -> dict[str, Any]:
        """The billing cycle closing now: TL02's answer (``{"data": [...]}``) of every line newly payable
        and the ``PAYMENT`` of their sum."""
        voucher = f"PV-{self._next_voucher:06d}"
        self._next_voucher += 1
        data: list[dict[str, Any]] = []

        def add(order: Order, line: OrderLine | None, kind: str, amount: Decimal) -> None:
            if not amount:
                return
            amount = _cents(amount)
            entities: dict[str, Any] = {"domain": "PRODUCT"}
            if line is not None:
                entities["order"] = {"id": order.id, "commercial_id": order.commercial_id}
                entities["order_line"] = {"id": line.id, "offer_sku": line.offer_sku}
            data.append(
                {
                    "id": f"tl-{self._next_line:08d}",
                    "transaction_type": kind,
                    "amount": float(amount),
                    "amount_credited": float(max(amount, Decimal(0))),
                    "amount_debited": float(max(-amount, Decimal(0))),
                    "currency_iso_code": order.currency,
                    "date_created": _iso(now),
                    "transaction_date": _iso(now),
                    "payment_state": "PAID",
                    "payment_voucher_number": voucher,
                    "entities": entities,
                }
            )
            self._next_line += 1

        def commission(order: Order, line: OrderLine, base: Decimal, sign: int, prefix: str = "") -> None:
            fee = _cents(base * commission_rate)
            add(order, line, f"{prefix}COMMISSION_FEE", -sign * fee)
            add(order, line, f"{prefix}COMMISSION_VAT", -sign * _cents(fee * commission_vat_rate))

        currency = None
        for order in orders:
            added = order.tax_mode == "TAX_EXCLUDED"
            for line in order.lines:
                kept = line.quantity - line.cancelled
                if kept > 0 and line.shipped >= kept and line.id not in self.settled:
                    self.settled.add(line.id)
                    amount = line.price - sum((c.amount for c in line.cancelations), Decimal(0))
                    shipping = line.shipping_price - sum((c.shipping_amount for c in line.cancelations), Decimal(0))
                    tax = line.tax(False) - sum(
                        (sum(c.taxes.values(), Decimal(0)) for c in line.cancelations), Decimal(0)
                    )
                    ship_tax = line.shipping_tax(False) - sum(
                        (sum(c.shipping_taxes.values(), Decimal(0)) for c in line.cancelations), Decimal(0)
                    )
                    add(order, line, "ORDER_AMOUNT", amount)
                    add(order, line, "ORDER_SHIPPING_AMOUNT", shipping)
                    if added:
                        add(order, line, "ORDER_AMOUNT_TAX", tax)
                        add(order, line, "ORDER_SHIPPING_AMOUNT_TAX", ship_tax)
                    commission(order, line, amount + shipping + (tax + ship_tax if added else 0), 1)
                    currency = order.currency
                for refund in line.refunds:
                    if refund.id in self.settled or line.id not in self.settled:
                        continue
                    self.settled.add(refund.id)
                    taxes = sum(refund.taxes.values(), Decimal(0))
                    ship_taxes = sum(refund.shipping_taxes.values(), Decimal(0))
                    add(order, line, "REFUND_ORDER_AMOUNT", -refund.amount)
                    add(order, line, "REFUND_ORDER_SHIPPING_AMOUNT", -refund.shipping_amount)
                    if added:
                        add(order, line, "REFUND_ORDER_AMOUNT_TAX", -taxes)
                        add(order, line, "REFUND_ORDER_SHIPPING_AMOUNT_TAX", -ship_taxes)
                    base = refund.amount + refund.shipping_amount + (taxes + ship_taxes if added else 0)
                    commission(order, line, base, -1, "REFUND_")
                    currency = order.currency
        total = sum((Decimal(str(d["amount"])) for d in data), Decimal(0))
        if data and currency is not None:
            first = data[0]
            data.append(
                {
                    **first,
                    "id": f"tl-{self._next_line:08d}",
                    "transaction_type": "PAYMENT",
                    "amount": float(-total),
                    "amount_credited": 0.0,
                    "amount_debited": float(total),
                    "entities": {"domain": "PRODUCT"},
                }
            )
            self._next_line += 1
        return {"data": data, "next_page_token": None}
