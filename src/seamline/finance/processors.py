"""Card processor settlements as plain records: Stripe balance transactions (``tests/fixtures/payments``),
Square payout entries (``ListPayoutEntries``: ``gross_amount_money``, ``fee_amount_money``,
``net_amount_money``, signed, in minor units; a refund is negative) and Adyen's Settlement details report
(the CSV Adyen generates per payout batch: ``Gross Credit (GC)``/``Gross Debit (GC)``, ``Net Credit (NC)``/
``Net Debit (NC)`` in major units, the fee as ``Commission (NC)`` or ``Markup``/``Scheme Fees``/``Interchange``).

A balance transaction gives the gross ``amount``, the processor's ``fee`` and the ``net`` paid out, as
integers in the currency's minor unit (``-400`` is -4.00 USD), with a lower-case currency. Charges and
refunds are the tills' card takings; payouts, transfers and the like move money that was already counted and
are kept aside (listed, never tied out), so importing a full balance report is safe."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
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
    #: The processor's record as it came (kept with the import), when it is not a JSON object with an id.
    raw: Mapping[str, Any] | None = None

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


# ------------------------------------------------------------------------------------------------ Square
#: Payout entry types (``ActivityType``) that are till takings; every other (fees, transfers, disputes,
#: holds) is kept aside.
SQUARE_TAKINGS = {"CHARGE": "charge", "REFUND": "refund"}


def _square_money(value: Any) -> tuple[int, str] | None:
    """Square ``Money``: an integer ``amount`` in the minor unit and ``currency`` (the payout entries example
    of Square's reference spells it ``currency_code``: both are read)."""
    if not isinstance(value, Mapping):
        return None
    amount, currency = _int(value.get("amount")), value.get("currency") or value.get("currency_code")
    if amount is None or not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        return None
    return amount, currency.upper()


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def parse_square_payout_entries(payload: Any) -> list[ProcessorTransaction]:
    """``{"payout_entries": [...]}`` (the ListPayoutEntries answer), a list of entries, or one entry; every bad
    field is named, and ``net`` must be ``gross - fee`` exactly (Square's fee is positive on a charge, negative
    on the refund of one)."""
    if isinstance(payload, Mapping) and "payout_entries" in payload:
        entries = payload.get("payout_entries")
        items = list(entries) if isinstance(entries, list) else [entries]
    else:
        items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise InvalidInput("no payout entries", [FieldError("transactions", "needs at least one")])
    errors: list[FieldError] = []
    out: list[ProcessorTransaction] = []
    for i, item in enumerate(items):
        where = f"transactions[{i}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(where, "must be a Square PayoutEntry object"))
            continue
        entry_id, kind = item.get("id"), item.get("type")
        gross, fee, net = (
            _square_money(item.get(k)) for k in ("gross_amount_money", "fee_amount_money", "net_amount_money")
        )
        created = _rfc3339(item.get("effective_at"))
        bad = [
            name
            for name, ok in (
                ("id", isinstance(entry_id, str) and 0 < len(entry_id) <= 64),
                ("type", isinstance(kind, str) and bool(kind)),
                ("gross_amount_money", gross is not None),
                ("fee_amount_money", fee is not None or item.get("fee_amount_money") is None),
                ("net_amount_money", net is not None),
                ("effective_at", created is not None),
            )
            if not ok
        ]
        for name in bad:
            errors.append(FieldError(f"{where}.{name}", "is missing or not the type Square documents"))
        if bad:
            continue
        assert gross is not None
        assert net is not None
        assert created is not None
        fee_amount, fee_currency = fee if fee is not None else (0, gross[1])
        if len({gross[1], fee_currency, net[1]}) != 1:
            errors.append(FieldError(where, "gross, fee and net are in different currencies"))
            continue
        if gross[0] - fee_amount != net[0]:
            errors.append(
                FieldError(f"{where}.net_amount_money", f"{net[0]} is not gross {gross[0]} less fee {fee_amount}")
            )
            continue
        code = gross[1]
        unit = Decimal(1).scaleb(-minor_exponent(code))
        details = item.get(f"type_{str(kind).lower()}_details")
        payment = details.get("payment_id") if isinstance(details, Mapping) else None
        out.append(
            ProcessorTransaction(
                processor="square",
                id=str(entry_id),
                type=SQUARE_TAKINGS.get(str(kind), str(kind).lower()),
                currency=code,
                amount=Decimal(gross[0]) * unit,
                fee=Decimal(fee_amount) * unit,
                net=Decimal(net[0]) * unit,
                created=created.astimezone(UTC),
                status=str(item.get("payout_id") or ""),
                description=str(kind),
                source=payment if isinstance(payment, str) else None,
            )
        )
    return _unique(out, errors)


# ------------------------------------------------------------------------------------------------ Adyen
#: Settlement details report journal types that are till takings; Chargeback, Fee, MerchantPayout,
#: DepositCorrection, InvoiceDeduction, MiscCosts and the rest are kept aside (listed, never tied out).
ADYEN_TAKINGS = {"Settled": "charge", "Refunded": "refund"}
ADYEN_REQUIRED = ("Psp Reference", "Creation Date", "TimeZone", "Type", "Gross Currency", "Net Currency")
#: The report's ``TimeZone`` column holds the account's zone as an abbreviation.
ADYEN_ZONES = {
    "UTC": 0, "GMT": 0, "WET": 0, "BST": 60, "WEST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AEST": 600, "AEDT": 660, "JST": 540, "SGT": 480, "HKT": 480,
}  # fmt: skip


def _adyen_rows(payload: Any) -> list[Mapping[str, Any]]:
    """The report's CSV text (header line first, as Adyen generates it), or its rows as objects."""
    if isinstance(payload, str):
        rows: list[Mapping[str, Any]] = list(csv.DictReader(io.StringIO(payload.lstrip("\ufeff"))))
        if not rows:
            raise InvalidInput("no report rows", [FieldError("transactions", "the CSV has a header and no rows")])
        return rows
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(row, Mapping) for row in items):
        raise InvalidInput(
            "not a settlement details report",
            [FieldError("transactions", "the report's CSV text, or its rows as objects keyed by column")],
        )
    return items


def _decimal(value: Any) -> Decimal | None:
    text = str(value or "").strip()
    if not text:
        return Decimal(0)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_adyen_settlement_details(payload: Any) -> list[ProcessorTransaction]:
    """Every row of the report: ``Settled`` as a charge (gross credit, net credit), ``Refunded`` as a refund
    (gross debit, net debit, negative), everything else kept aside at its net. The fee is gross less net and
    must equal ``Commission (NC)``, or the sum of ``Markup``, ``Scheme Fees`` and ``Interchange`` where
    those are given; rows in a foreign gross currency (converted at ``Exchange Rate``) are refused here,
    since a store's takings are in its own currency."""
    rows = _adyen_rows(payload)
    errors: list[FieldError] = []
    out: list[ProcessorTransaction] = []
    for i, row in enumerate(rows):
        where = f"transactions[{i}]"
        kind = str(row.get("Type") or "").strip()
        missing = [
            c
            for c in ADYEN_REQUIRED
            if not str(row.get(c) or "").strip() and not (c == "Psp Reference" and kind not in ADYEN_TAKINGS)
        ]
        for column in missing:
            errors.append(FieldError(f"{where}.{column}", "is required in a settlement details report row"))
        if missing:
            continue
        numbers = {
            c: _decimal(row.get(c))
            for c in (
                "Gross Debit (GC)", "Gross Credit (GC)", "Net Debit (NC)", "Net Credit (NC)",
                "Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)",
            )
        }  # fmt: skip
        bad = [c for c, v in numbers.items() if v is None]
        for column in bad:
            errors.append(FieldError(f"{where}.{column}", f"{row.get(column)!r} is not a number"))
        zone = ADYEN_ZONES.get(str(row["TimeZone"]).strip().upper())
        try:
            local = datetime.strptime(str(row["Creation Date"]).strip(), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zone below
        except ValueError:
            errors.append(FieldError(f"{where}.Creation Date", "is not YYYY-MM-DD HH:MM:SS"))
            continue
        if zone is None:
            errors.append(FieldError(f"{where}.TimeZone", f"{row['TimeZone']!r} is not a time zone this reader knows"))
        if bad or zone is None:
            continue
        n = {c: v or Decimal(0) for c, v in numbers.items()}
        gross_currency, net_currency = str(row["Gross Currency"]).upper(), str(row["Net Currency"]).upper()
        created = (local - timedelta(minutes=zone)).replace(tzinfo=UTC)
        batch = str(row.get("Batch Number") or "").strip()
        if kind in ADYEN_TAKINGS:
            if gross_currency != net_currency:
                errors.append(
                    FieldError(
                        f"{where}.Gross Currency", f"{gross_currency} settled in {net_currency}: not a till's takings"
                    )
                )
                continue
            sign = 1 if kind == "Settled" else -1
            gross = n["Gross Credit (GC)"] if sign > 0 else n["Gross Debit (GC)"]
            net = n["Net Credit (NC)"] if sign > 0 else n["Net Debit (NC)"]
            amount, net_amount = sign * gross, sign * net
            fee = amount - net_amount
            parts = n["Markup (NC)"] + n["Scheme Fees (NC)"] + n["Interchange (NC)"]
            stated = n["Commission (NC)"] or parts
            if (n["Commission (NC)"] or parts) and abs(fee) != stated:
                errors.append(
                    FieldError(
                        f"{where}.Net Credit (NC)" if sign > 0 else f"{where}.Net Debit (NC)",
                        f"gross {gross} less net {net} is {abs(fee)}, the fees say {stated}",
                    )
                )
                continue
            txn_id = str(row.get("Modification Reference") or row["Psp Reference"]).strip()
        else:
            amount = net_amount = n["Net Credit (NC)"] - n["Net Debit (NC)"]
            fee = Decimal(0)
            reference = str(row.get("Modification Reference") or row.get("Psp Reference") or "").strip()
            txn_id = f"{kind}:{batch}:{reference or row['Creation Date']}"
        out.append(
            ProcessorTransaction(
                processor="adyen",
                id=txn_id[:64],
                type=ADYEN_TAKINGS.get(kind, kind.lower()),
                currency=net_currency,
                amount=amount,
                fee=fee,
                net=net_amount,
                created=created,
                status=f"batch {batch}" if batch else "",
                description=kind,
                source=str(row.get("Psp Reference") or "").strip() or None,
                raw={str(k): v for k, v in row.items() if k is not None},
            )
        )
    return _unique(out, errors)


def _unique(out: list[ProcessorTransaction], errors: list[FieldError]) -> list[ProcessorTransaction]:
    seen: set[str] = set()
    for i, txn in enumerate(out):
        if txn.id in seen:
            errors.append(FieldError(f"transactions[{i}].id", f"{txn.id} is listed twice"))
        seen.add(txn.id)
    if errors:
        raise InvalidInput("the processor settlement is not valid", errors)
    return out


PARSERS = {
    "stripe": parse_stripe_balance_transactions,
    "square": parse_square_payout_entries,
    "adyen": parse_adyen_settlement_details,
}


def parse_processor_report(processor: str, payload: Any) -> list[ProcessorTransaction]:
    """The named processor's settlement report as records (see each parser for the shape it reads)."""
    parser = PARSERS.get(processor)
    if parser is None:
        raise InvalidInput("unknown processor", [FieldError("processor", f"one of {', '.join(sorted(PARSERS))}")])
    return parser(payload)
