"""Card processor settlements: Stripe balance transactions (``tests/fixtures/payments``) as plain records.

A balance transaction gives the gross ``amount``, the processor's ``fee`` and the ``net`` paid out, as
integers in the currency's minor unit (``-400`` is -4.00 USD), with a lower-case currency. Charges and
refunds are the tills' card takings; payouts, transfers and the like move money that was already counted and
are kept aside (listed, never tied out), so importing a full balance report is safe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput
from seamline.domain.money import minor_exponent

#: Balance transaction types that are card takings of a till (``payment``/``payment_refund`` are the
#: non-card payment-method versions Stripe reports the same way).
SALE_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund"})


@dataclass(frozen=True)
class ProcessorTransaction:
    processor: str
    id: str
    type: str
    currency: str
    amount: Decimal
    fee: Decimal
    net: Decimal
    created: datetime
    status: str
    description: str | None = None
    source: str | None = None

    @property
    def is_taking(self) -> bool:
        return self.type in SALE_TYPES or self.type in REFUND_TYPES

    def as_json(self) -> dict[str, Any]:
        return {
            "processor": self.processor,
            "id": self.id,
            "type": self.type,
            "currency": self.currency,
            "amount": str(self.amount),
            "fee": str(self.fee),
            "net": str(self.net),
            "created": iso_utc(self.created),
            "status": self.status,
            "description": self.description,
            "source": self.source,
        }


def _items(payload: Any) -> list[Any]:
    """A single balance transaction, a list of them, or Stripe's list object ``{"object": "list", "data": [...]}``."""
    if isinstance(payload, Mapping) and payload.get("object") == "list":
        data = payload.get("data")
        return list(data) if isinstance(data, list) else [data]
    if isinstance(payload, list):
        return payload
    return [payload]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_stripe_balance_transactions(payload: Any) -> list[ProcessorTransaction]:
    """Validate every transaction and name each bad field; ``net`` must be ``amount - fee`` exactly."""
    errors: list[FieldError] = []
    out: list[ProcessorTransaction] = []
    items = _items(payload)
    if not items:
        raise InvalidInput("no balance transactions", [FieldError("transactions", "needs at least one")])
    for i, item in enumerate(items):
        where = f"transactions[{i}]"
        if not isinstance(item, Mapping) or item.get("object", "balance_transaction") != "balance_transaction":
            errors.append(FieldError(where, "must be a Stripe balance_transaction object"))
            continue
        txn_id, kind, currency = item.get("id"), item.get("type"), item.get("currency")
        amount, fee, net, created = (_int(item.get(k)) for k in ("amount", "fee", "net", "created"))
        bad = [
            name
            for name, ok in (
                ("id", isinstance(txn_id, str) and 0 < len(txn_id) <= 64),
                ("type", isinstance(kind, str) and bool(kind)),
                ("currency", isinstance(currency, str) and len(currency) == 3 and currency.isalpha()),
                ("amount", amount is not None),
                ("fee", fee is not None),
                ("net", net is not None),
                ("created", created is not None),
            )
            if not ok
        ]
        for name in bad:
            errors.append(FieldError(f"{where}.{name}", "is missing or not the type Stripe documents"))
        if bad:
            continue
        assert amount is not None
        assert fee is not None
        assert net is not None
        assert created is not None
        if amount - fee != net:
            errors.append(FieldError(f"{where}.net", f"{net} is not amount {amount} less fee {fee}"))
            continue
        code = str(currency).upper()
        unit = Decimal(1).scaleb(-minor_exponent(code))
        out.append(
            ProcessorTransaction(
                processor="stripe",
                id=str(txn_id),
                type=str(kind),
                currency=code,
                amount=Decimal(amount) * unit,
                fee=Decimal(fee) * unit,
                net=Decimal(net) * unit,
                created=datetime.fromtimestamp(created, UTC),
                status=str(item.get("status") or ""),
                description=item.get("description") if isinstance(item.get("description"), str) else None,
                source=item.get("source") if isinstance(item.get("source"), str) else None,
            )
        )
    seen: set[str] = set()
    for i, txn in enumerate(out):
        if txn.id in seen:
            errors.append(FieldError(f"transactions[{i}].id", f"{txn.id} is listed twice"))
        seen.add(txn.id)
    if errors:
        raise InvalidInput("the processor settlement is not valid", errors)
    return out


def totals(transactions: Sequence[ProcessorTransaction]) -> tuple[Decimal, Decimal, Decimal]:
    """(gross, fee, net) of the takings among ``transactions``."""
    takings = [t for t in transactions if t.is_taking]
    zero = Decimal(0)
    return (
        sum((t.amount for t in takings), zero),
        sum((t.fee for t in takings), zero),
        sum((t.net for t in takings), zero),
    )
