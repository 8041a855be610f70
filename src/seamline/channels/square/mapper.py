"""Square ↔ canonical (``tests/fixtures/pos``). Pure: no HTTP, no database.

Inbound, the webhook envelope (``merchant_id``, ``type``, ``event_id``, ``created_at``, ``data``) and:
- ``order.updated``: a notification only (order id, location, ``state``, ``version``): the order itself is
  fetched (``RetrieveOrder``) when it is ``COMPLETED`` and then mapped to a till sale by ``map_order``;
- ``inventory.count.updated``: counts per (variation, location, state) with ``quantity`` as a decimal
  string; a state change (a sale: ``IN_STOCK`` → ``SOLD``) sends the counts on both sides. Seamline owns
  stock, so counts are compared with what was published (drift), never booked as movements.
Outbound, catalog and price pushes as ``BatchUpsertCatalogObjects`` bodies.

A till order is not only stock: a gift card sold (``item_type: GIFT_CARD``), a custom amount keyed in (no
``catalog_object_id``), a service charge (``service_charges[].total_money``, tax included) and a cash rounding
(``rounding_adjustment.amount_money``, signed) are paid for by the same tenders. The order is taken whole: the
catalog lines become the stock sale, the rest are kept beside it as :class:`OtherLine` records with their
amounts (never dropped, never booked as stock), and the tenders are split between the two so that each side
adds up exactly (see :func:`split_tenders`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from seamline.catalog.model import Style
from seamline.domain.commerce import CommerceLine, DiscountAllocation, OrderCommerce, Payment, TaxLine
from seamline.domain.money import minor_exponent

IN_STOCK = "IN_STOCK"
TENDER_TYPES = {"CARD": "card", "CASH": "cash", "SQUARE_GIFT_CARD": "gift_card", "WALLET": "wallet"}


class SquareMappingError(ValueError):
    """The payload is not the shape Square documents (or not one we can book): never retried into success."""


class SquareUnmapped(SquareMappingError):
    """The payload names something our configuration does not link yet (a location, a variation): held, not
    rejected, since linking it later makes the message apply."""


def parse_time(value: Any) -> datetime:
    """Square's RFC 3339 times carry up to nanoseconds (``2020-12-29T18:38:45.455006797Z``)."""
    if not isinstance(value, str) or not value:
        raise SquareMappingError(f"not a time: {value!r}")
    text = re.sub(r"\.(\d+)", lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.replace("Z", "+00:00"), count=1)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise SquareMappingError(f"not a time: {value!r}") from None
    if stamp.tzinfo is None:
        raise SquareMappingError(f"a time without a zone: {value!r}")
    return stamp


def parse_quantity(value: Any) -> int:
    """Square quantities are decimal strings ("90", "1.00000"); apparel units are whole."""
    if not isinstance(value, str):
        raise SquareMappingError(f"quantity must be a decimal string, not {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise SquareMappingError(f"quantity {value!r} is not a decimal") from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise SquareMappingError(f"quantity {value!r} is not a whole number of units")
    return int(amount)


def money(value: Any) -> tuple[Decimal, str]:
    """``{"amount": 8900, "currency": "EUR"}`` → (89.00, "EUR")."""
    if not isinstance(value, Mapping):
        raise SquareMappingError(f"not a Money object: {value!r}")
    amount, currency = value.get("amount"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise SquareMappingError(f"Money needs an integer amount and a currency: {value!r}")
    return Decimal(amount).scaleb(-minor_exponent(currency)), currency


def minor_units(amount: Decimal, currency: str) -> int:
    return int((amount * Decimal(10) ** minor_exponent(currency)).to_integral_value())


# ------------------------------------------------------------------------------------------------ events
@dataclass(frozen=True)
class SquareEvent:
    merchant_id: str
    type: str
    event_id: str
    created_at: datetime
    data_type: str
    data_id: str
    object: Mapping[str, Any]


def read_event(payload: Any) -> SquareEvent:
    if not isinstance(payload, Mapping):
        raise SquareMappingError("a Square event is a JSON object")
    data = payload.get("data")
    missing = [k for k in ("merchant_id", "type", "event_id") if not isinstance(payload.get(k), str)]
    if missing or not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
        raise SquareMappingError(f"not a Square event envelope (missing {missing or ['data.object']})")
    return SquareEvent(
        merchant_id=payload["merchant_id"],
        type=payload["type"],
        event_id=payload["event_id"],
        created_at=parse_time(payload.get("created_at")),
        data_type=str(data.get("type")),
        data_id=str(data.get("id")),
        object=data["object"],
    )


@dataclass(frozen=True)
class SquareOrderUpdate:
    order_id: str
    location_id: str
    state: str  # OPEN | COMPLETED | CANCELED | DRAFT
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def completed(self) -> bool:
        return self.state == "COMPLETED"


def map_order_updated(event: SquareEvent) -> SquareOrderUpdate:
    body = event.object.get("order_updated")
    if not isinstance(body, Mapping):
        raise SquareMappingError("order.updated without data.object.order_updated")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SquareMappingError("order_updated.version must be an integer")
    for key in ("order_id", "location_id", "state"):
        if not isinstance(body.get(key), str):
            raise SquareMappingError(f"order_updated.{key} is missing")
    return SquareOrderUpdate(
        order_id=body["order_id"],
        location_id=body["location_id"],
        state=body["state"],
        version=version,
        created_at=parse_time(body.get("created_at")),
        updated_at=parse_time(body.get("updated_at")),
    )


@dataclass(frozen=True)
class SquareCount:
    catalog_object_id: str
    catalog_object_type: str
    location_id: str
    state: str
    quantity: int
    calculated_at: datetime


def map_inventory_count_updated(event: SquareEvent) -> list[SquareCount]:
    counts = event.object.get("inventory_counts")
    if not isinstance(counts, list) or not counts:
        raise SquareMappingError("inventory.count.updated without inventory_counts")
    out = []
    for i, raw in enumerate(counts):
        if not isinstance(raw, Mapping):
            raise SquareMappingError(f"inventory_counts[{i}] is not an object")
        for key in ("catalog_object_id", "location_id", "state"):
            if not isinstance(raw.get(key), str):
                raise SquareMappingError(f"inventory_counts[{i}].{key} is missing")
        out.append(
            SquareCount(
                catalog_object_id=raw["catalog_object_id"],
                catalog_object_type=str(raw.get("catalog_object_type") or "ITEM_VARIATION"),
                location_id=raw["location_id"],
                state=raw["state"],
                quantity=parse_quantity(raw.get("quantity")),
                calculated_at=parse_time(raw.get("calculated_at")),
            )
        )
    return out


def in_stock(counts: Sequence[SquareCount]) -> dict[tuple[str, str], int]:
    """(variation, location) → the count on the shelf after the change: the ``IN_STOCK`` side only (a sale
    also reports the ``SOLD`` side, which is not stock)."""
    return {(c.catalog_object_id, c.location_id): c.quantity for c in counts if c.state == IN_STOCK}


# ------------------------------------------------------------------------------------------------ orders
@dataclass(frozen=True)
class SquareLookups:
    #: Square variation id → our SKU (from the catalog push's id mappings).
    sku_for_variation: Mapping[str, str] = field(default_factory=dict)
    #: Square location id → our store location code.
    location_for: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def variation_for(self) -> Mapping[str, str]:
        """Our SKU → Square variation id, built once per lookups (a stock push asks it for every call)."""
        return {sku: variation for variation, sku in self.sku_for_variation.items()}


@dataclass(frozen=True)
class SaleLine:
    sku: str
    qty: int
    unit_price: Decimal


#: What a non-stock part of a till order is: a gift card sold or topped up, a keyed-in amount with no catalog
#: object, a service charge, the cash rounding of the total.
GIFT_CARD, CUSTOM_AMOUNT, SERVICE_CHARGE, ROUNDING = "gift_card", "custom_amount", "service_charge", "rounding"
#: The tender type under which a negative rounding (the till took less than the goods' total) is recorded on
#: the stock sale, so its tenders still add up to its lines.
ROUNDING_TENDER = "rounding"


@dataclass(frozen=True)
class OtherLine:
    """A part of the till order that is not stock: kept with its amount (signed; what the till charged for
    it), never sold from the ledger."""

    uid: str
    kind: str
    name: str
    amount: Decimal


@dataclass(frozen=True)
class SquareSale:
    """A completed Square order as a till sale for ``POST /v1/sales`` (or the offline batch).

    ``lines``/``tenders`` are the stock sale (its tenders add up to its lines); ``other_lines`` are the
    order's non-stock parts and ``till_tenders`` what the till actually took (net of tips), so that
    stock lines + other lines = till tenders, to the cent."""

    order_id: str
    location: str
    currency: str
    lines: tuple[SaleLine, ...]
    tenders: tuple[tuple[str, Decimal], ...]
    occurred_at: datetime
    version: int
    other_lines: tuple[OtherLine, ...] = ()
    till_tenders: tuple[tuple[str, Decimal], ...] = ()
    #: Square's own numbers: base prices, applied discounts and taxes, the non-stock parts as lines of their
    #: own, the order's total net of tips (a sale with stock lines, and with Square's tax lines when it has
    #: non-stock parts); paid by ``till_tenders``.
    commerce: OrderCommerce | None = None
    #: Index in ``till_tenders`` of each ``SQUARE_GIFT_CARD`` tender → what Square shows of its card (the
    #: ``card_details.card.last_4`` and the tender's ``payment_id``): never the card's number (GAN).
    gift_card_refs: Mapping[int, str] = field(default_factory=dict)

    def sale_body(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "external_id": self.order_id,
            "lines": [{"sku": li.sku, "qty": li.qty, "unit_price": str(li.unit_price)} for li in self.lines],
            "tenders": [{"type": t, "amount": str(a)} for t, a in self.tenders],
            "currency": self.currency,
            "occurred_at": self.occurred_at.isoformat(),
            "force": True,  # the goods have left the shop
        }


def _split_line(sku: str, qty: int, total: Decimal, currency: str) -> list[SaleLine]:
    """A line whose total is not qty x a whole-cent price (a discount spread over units) becomes two lines
    whose totals add up exactly: the till took ``total``, not a rounded unit price times qty."""
    units = minor_units(total, currency)
    each, rest = divmod(units, qty)
    step = Decimal(1).scaleb(-minor_exponent(currency))
    if rest == 0:
        return [SaleLine(sku, qty, each * step)]
    return [SaleLine(sku, qty - rest, each * step), SaleLine(sku, rest, (each + 1) * step)]


def split_tenders(tenders: Sequence[tuple[str, Decimal]], goods: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """The share of the till's tenders that paid for the goods: tenders are taken in the order the till took
    them until the goods are paid (the rest paid the non-stock lines). When the till took less than the goods
    (a negative cash rounding), the difference is a ``rounding`` tender on the sale: the goods were sold at
    their price, and the rounding is visible, not hidden in a unit price."""
    out: list[tuple[str, Decimal]] = []
    due = goods
    for kind, amount in tenders:
        share = min(amount, due)
        if share > 0:
            out.append((kind, share))
            due -= share
    if due > 0:
        out.append((ROUNDING_TENDER, due))
    return tuple(out)


def _other_line(i: int, item: Mapping[str, Any]) -> OtherLine | None:
    """A line item that is not a catalog variation, or None for a catalog line."""
    item_type = str(item.get("item_type") or "ITEM")
    if item_type == "GIFT_CARD":
        kind = GIFT_CARD
    elif item_type == "CUSTOM_AMOUNT" or not item.get("catalog_object_id"):
        kind = CUSTOM_AMOUNT
    else:
        return None
    total, _ = money(item.get("total_money"))
    name = str(item.get("name") or item.get("variation_name") or kind.replace("_", " "))
    return OtherLine(str(item.get("uid") or f"line_items[{i}]"), kind, name, total)


def map_order(order: Mapping[str, Any], lookups: SquareLookups) -> SquareSale:
    """A ``RetrieveOrder`` order → a till sale. Catalog lines must name a variation we published; lines with
    no catalog object (gift cards, custom amounts), service charges and the rounding adjustment are kept as
    other lines. Tenders are net of tips (a tip is not a sale) and must add up to everything the order
    charged."""
    if order.get("state") != "COMPLETED":
        raise SquareMappingError(f"order {order.get('id')} is {order.get('state')}, not COMPLETED")
    location = lookups.location_for.get(str(order.get("location_id")))
    if location is None:
        raise SquareUnmapped(f"Square location {order.get('location_id')} is not linked to a store")
    lines: list[SaleLine] = []
    others: list[OtherLine] = []
    currencies: set[str] = set()
    line_numbers: dict[int, int] = {}  # Square line index -> the first of our order lines it became
    for i, item in enumerate(order.get("line_items") or []):
        other = _other_line(i, item)
        qty = parse_quantity(item.get("quantity")) if other is None else 0
        total, item_currency = money(item.get("total_money"))
        currencies.add(item_currency)
        if other is not None:
            if other.amount:
                others.append(other)
            continue
        sku = lookups.sku_for_variation.get(str(item.get("catalog_object_id")))
        if sku is None:
            raise SquareUnmapped(f"line_items[{i}] names {item.get('catalog_object_id')}, not a published SKU")
        if qty > 0:
            line_numbers[i] = len(lines) + 1
            lines.extend(_split_line(sku, qty, total, item_currency))
    for i, charge in enumerate(order.get("service_charges") or []):
        amount, charge_currency = money(charge.get("total_money") or charge.get("applied_money"))
        currencies.add(charge_currency)
        if amount:
            uid = str(charge.get("uid") or f"service_charges[{i}]")
            others.append(OtherLine(uid, SERVICE_CHARGE, str(charge.get("name") or "service charge"), amount))
    rounding = order.get("rounding_adjustment")
    if isinstance(rounding, Mapping) and rounding.get("amount_money"):
        amount, rounding_currency = money(rounding["amount_money"])
        currencies.add(rounding_currency)
        if amount:
            uid = str(rounding.get("uid") or "rounding_adjustment")
            others.append(OtherLine(uid, ROUNDING, str(rounding.get("name") or "cash rounding"), amount))
    if not lines and not others:
        raise SquareMappingError(f"order {order.get('id')} has no lines to sell")
    if len(currencies) != 1:
        raise SquareMappingError(f"order {order.get('id')} mixes currencies {sorted(currencies)}")
    currency = currencies.pop()
    tenders: list[tuple[str, Decimal]] = []
    refs: dict[int, str] = {}
    for i, tender in enumerate(order.get("tenders") or []):
        amount, tender_currency = money(tender.get("amount_money"))
        if tender.get("tip_money"):
            amount -= money(tender["tip_money"])[0]
        if tender_currency != currency:
            raise SquareMappingError(f"tenders[{i}] is in {tender_currency}, the lines in {currency}")
        kind = str(tender.get("type") or "OTHER")
        tenders.append((TENDER_TYPES.get(kind, kind.lower()), amount))
        if kind == "SQUARE_GIFT_CARD":
            refs[len(tenders) - 1] = _gift_card_ref(tender)
    sold = sum((li.qty * li.unit_price for li in lines), Decimal(0))
    extra = sum((o.amount for o in others), Decimal(0))
    paid = sum((a for _, a in tenders), Decimal(0))
    if sold + extra != paid:
        raise SquareMappingError(f"order {order.get('id')}: lines total {sold} and other lines {extra}, tenders {paid}")
    version = order.get("version")
    return SquareSale(
        order_id=str(order.get("id")),
        location=location,
        currency=currency,
        lines=tuple(lines),
        tenders=split_tenders(tenders, sold) if lines else (),
        occurred_at=parse_time(order.get("closed_at") or order.get("updated_at")),
        version=version if isinstance(version, int) else 0,
        other_lines=tuple(others),
        till_tenders=tuple(tenders),
        commerce=_whole_commerce(order, lookups, currency, tenders, line_numbers, bool(others)) if lines else None,
        gift_card_refs=refs,
    )


def _gift_card_ref(tender: Mapping[str, Any]) -> str:
    """What a ``SQUARE_GIFT_CARD`` tender shows of its card (Orders API ``Tender``: ``card_details`` is
    ``TenderCardDetails``, whose ``card`` has ``last_4``; ``payment_id`` names the payment, which Square's
    Gift Card Activities API ties to the card's REDEEM activity)."""
    details = tender.get("card_details")
    card = details.get("card") if isinstance(details, Mapping) else None
    last4 = card.get("last_4") if isinstance(card, Mapping) else None
    parts = [f"Square gift card …{last4}" if last4 else "a Square gift card"]
    if tender.get("payment_id"):
        parts.append(f"payment {tender['payment_id']}")
    return ", ".join(parts)


def _whole_commerce(
    order: Mapping[str, Any],
    lookups: SquareLookups,
    currency: str,
    tenders: Sequence[tuple[str, Decimal]],
    line_numbers: Mapping[int, int],
    others: bool,
) -> OrderCommerce | None:
    """Square's numbers for the sale, paid by all the till took. An order with non-stock parts but without
    Square's tax lines keeps none: its goods are taxed by our chart (their receipt is the goods alone, paid by
    the tenders' share for them) and the other parts stay beside it, since our chart cannot tax a custom amount
    or a service charge it knows nothing of."""
    commerce = sale_commerce(order, lookups, currency, tenders, line_numbers)
    if others and commerce.channel_totals.get("has_taxes") != "true":
        return None
    return commerce


def _optional_money(value: Any) -> Decimal | None:
    return None if not isinstance(value, Mapping) or value.get("amount") is None else money(value)[0]


def _taxes_of(applied: Any, taxes: Mapping[str, Mapping[str, Any]], fallback: Any) -> tuple[TaxLine, ...]:
    """A line's (or a service charge's) ``applied_taxes`` at the order tax's ``percentage``, as Square computed
    them; ``total_tax_money`` alone when Square sent no applied taxes."""
    out = []
    for tax_ref in applied or []:
        if not isinstance(tax_ref, Mapping):
            continue
        tax = taxes.get(str(tax_ref.get("tax_uid")), {})
        rate = Decimal(str(tax.get("percentage") or 0)) / 100
        out.append(TaxLine(str(tax.get("name") or "tax"), rate, money(tax_ref.get("applied_money"))[0]))
    if not out and _optional_money(fallback):
        out.append(TaxLine("tax", Decimal(0), money(fallback)[0]))
    return tuple(out)


def sale_commerce(
    order: Mapping[str, Any],
    lookups: SquareLookups,
    currency: str,
    tenders: Sequence[tuple[str, Decimal]],
    line_numbers: Mapping[int, int] | None = None,
) -> OrderCommerce:
    """Square's numbers for a sale (Orders API): per line the ``base_price_money``, its applied discounts and
    applied taxes (at the order tax's ``percentage``; ``INCLUSIVE`` taxes are within the price), the
    order's ``total_money`` less tips, and the tenders. ``has_taxes`` in ``channel_totals`` says whether
    Square sent its tax lines (a sale without them is taxed by our chart).

    The parts of the order that are not stock are lines of their own, so that the lines add up to
    ``total_money``: a custom amount (no ``catalog_object_id``) is a ``custom`` line, a gift card sold
    (``item_type: GIFT_CARD``) a ``gift_card`` line with its amount (a liability, not revenue: finance holds
    a sale carrying one until gift cards are booked), each ``service_charges[]`` a ``service_charge`` line at
    its ``total_money`` less the tax Square added to it, and ``rounding_adjustment`` a ``rounding`` line.
    None of them names an order line (``order_line_no``): they take no stock. ``line_numbers`` maps a
    Square line's index to the first of our order lines it became (a line split over units is two)."""
    taxes = {
        str(t.get("uid")): t for t in order.get("taxes") or [] if isinstance(t, Mapping) and t.get("uid") is not None
    }
    discounts = {str(d.get("uid")): d for d in order.get("discounts") or [] if isinstance(d, Mapping)}
    inclusive = bool(taxes) and all(t.get("type") == "INCLUSIVE" for t in taxes.values())
    numbers = dict(line_numbers) if line_numbers is not None else None
    lines = []
    for i, item in enumerate(order.get("line_items") or []):
        other = _other_line(i, item)
        qty = parse_quantity(item.get("quantity"))
        total = money(item.get("total_money"))[0]
        base = _optional_money(item.get("base_price_money"))
        unit = base if base is not None else (total / qty if qty else total)
        applied_discounts = tuple(
            DiscountAllocation(
                money(d.get("applied_money"))[0],
                str(discounts.get(str(d.get("discount_uid")), {}).get("name") or d.get("discount_uid") or ""),
            )
            for d in item.get("applied_discounts") or []
            if isinstance(d, Mapping)
        )
        if not applied_discounts and _optional_money(item.get("total_discount_money")):
            applied_discounts = (DiscountAllocation(money(item["total_discount_money"])[0], "discount"),)
        tax_lines = _taxes_of(item.get("applied_taxes"), taxes, item.get("total_tax_money"))
        if other is None:
            kind = "goods"
            line_no = (numbers.get(i) if numbers is not None else i + 1) if qty > 0 else None
        else:
            kind = "gift_card" if other.kind == GIFT_CARD else "custom"
            line_no = None
        lines.append(
            CommerceLine(
                line_id=str(item.get("uid") or i),
                title=str(item.get("name") or item.get("variation_name") or (other.name if other else "")),
                qty=qty,
                unit_price=unit,
                sku=lookups.sku_for_variation.get(str(item.get("catalog_object_id"))) if other is None else None,
                order_line_no=line_no,
                kind=kind,
                discounts=applied_discounts,
                tax_lines=tax_lines,
            )
        )
    for i, charge in enumerate(order.get("service_charges") or []):
        if not isinstance(charge, Mapping):
            continue
        charged = money(charge.get("total_money") or charge.get("applied_money"))[0]
        charge_taxes = _taxes_of(charge.get("applied_taxes"), taxes, charge.get("total_tax_money"))
        added_tax = Decimal(0) if inclusive else sum((t.amount for t in charge_taxes), Decimal(0))
        lines.append(
            CommerceLine(
                line_id=str(charge.get("uid") or f"service_charges[{i}]"),
                title=str(charge.get("name") or "service charge"),
                qty=1,
                unit_price=charged - added_tax,
                kind=SERVICE_CHARGE,
                tax_lines=charge_taxes,
            )
        )
    rounding = order.get("rounding_adjustment")
    if isinstance(rounding, Mapping) and rounding.get("amount_money"):
        amount = money(rounding["amount_money"])[0]
        if amount:
            uid = str(rounding.get("uid") or "rounding_adjustment")
            lines.append(CommerceLine(uid, str(rounding.get("name") or "cash rounding"), 1, amount, kind=ROUNDING))
    order_total = _optional_money(order.get("total_money"))
    tip = _optional_money(order.get("total_tip_money")) or Decimal(0)
    has_taxes = bool(taxes) or any(li.tax_lines for li in lines)
    return OrderCommerce(
        source="square",
        currency=currency,
        presentment_currency=currency,
        taxes_included=inclusive,
        lines=tuple(lines),
        channel_total=None if order_total is None else order_total - tip,
        payments=tuple(Payment(t, a, "square") for t, a in tenders),
        name=str(order.get("id")),
        channel_totals={"has_taxes": "true" if has_taxes else "false", "tips": str(tip)},
    )


# ------------------------------------------------------------------------------------------------ catalog
@dataclass(frozen=True)
class CatalogIds:
    """What Square calls our objects, and the version it holds of each (needed to change one)."""

    item: tuple[str, int] | None = None
    variations: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def temp_id(code: str) -> str:
    return "#" + code


def catalog_upsert_body(
    style: Style, *, currency: str, idempotency_key: str, known: CatalogIds | None = None, price_list: str = "retail"
) -> dict[str, Any]:
    """The style as one Square ITEM with a variation per SKU (name "colour / size", ``sku``, ``upc`` from the
    GTIN, the price list's price). New objects get ``#`` ids; existing ones their id and version."""
    known = known or CatalogIds()
    price = next((p.amount for p in style.prices if p.list == price_list and p.currency == currency), None)
    if price is None:
        raise SquareMappingError(f"{style.code} has no {price_list} price in {currency}")
    colours = {c.code: c.name for c in style.colours}
    item_ref: dict[str, Any] = (
        {"id": known.item[0], "version": known.item[1]} if known.item else {"id": temp_id(style.code)}
    )
    variations = []
    for variant in style.sorted_variants():
        ref: dict[str, Any] = (
            {"id": known.variations[variant.sku][0], "version": known.variations[variant.sku][1]}
            if variant.sku in known.variations
            else {"id": temp_id(variant.sku)}
        )
        data: dict[str, Any] = {
            "item_id": item_ref["id"],
            "name": f"{colours.get(variant.colour, variant.colour)} / {variant.size}",
            "sku": variant.sku,
            "pricing_type": "FIXED_PRICING",
            "price_money": {"amount": minor_units(price, currency), "currency": currency},
        }
        if variant.gtin:
            data["upc"] = variant.gtin.lstrip("0").zfill(12) if len(variant.gtin) == 14 else variant.gtin
        variations.append(
            {"type": "ITEM_VARIATION", **ref, "present_at_all_locations": True, "item_variation_data": data}
        )
    return {
        "idempotency_key": idempotency_key,
        "batches": [
            {
                "objects": [
                    {
                        "type": "ITEM",
                        **item_ref,
                        "present_at_all_locations": True,
                        "item_data": {
                            "name": style.name,
                            "description": f"{style.code} {style.season or ''}".strip(),
                            "variations": variations,
                        },
                    }
                ]
            }
        ],
    }


def catalog_ids(response: Mapping[str, Any], style: Style, previous: CatalogIds | None = None) -> CatalogIds:
    """The ids and versions Square gave (or kept) for the style after an upsert."""
    mappings = {m["client_object_id"]: m["object_id"] for m in response.get("id_mappings") or []}
    objects = response.get("objects") or []
    item = next((o for o in objects if o.get("type") == "ITEM"), None)
    if item is None:
        raise SquareMappingError("the upsert answered no ITEM")
    variations: dict[str, tuple[str, int]] = dict((previous or CatalogIds()).variations)
    for v in (item.get("item_data") or {}).get("variations") or []:
        sku = (v.get("item_variation_data") or {}).get("sku")
        if sku:
            variations[sku] = (str(v["id"]), int(v["version"]))
    if mappings.get(temp_id(style.code), item["id"]) != item["id"]:
        raise SquareMappingError("the ITEM id does not match its mapping")
    return CatalogIds((str(item["id"]), int(item["version"])), variations)
