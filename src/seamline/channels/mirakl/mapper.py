"""Mirakl Seller API CSV and JSON ↔ canonical objects, as pure functions.

- **Offer stock** goes out as an offers import file (OF01): ``;``-separated, UTF-8, a header row. The
  connector's mode is ``PARTIAL_UPDATE`` with the columns ``sku;quantity``: only the quantity of an existing
  offer changes, price, description, lead time and discounts are left as the seller set them in Mirakl.
  ``NORMAL`` (a full offer row: product id and type, price, state) is written here for completeness.
  ``REPLACE`` is never written: it deletes every offer the file does not name. And no stock ever goes
  through OF24 (``POST /api/offers``), which resets every offer field it is not sent.
- **Import status** (OF02): ``WAITING_SYNCHRONIZATION_PRODUCT``/``WAITING``/``RUNNING`` until ``COMPLETE``
  or ``FAILED``, with line counts and ``has_error_report``.
- **Orders** (OR11) come in as ``MarketplaceOrder``: the order's state, its lines with the offer SKU, units,
  unit price, line state and units already refunded.
- **Error report** (OF03): the file's lines in error, each with Mirakl's ``error-message`` (and, where the
  operator's version gives it, ``error-line``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

DELIMITER = ";"
IMPORT_MODES = ("PARTIAL_UPDATE", "NORMAL")
FINISHED = frozenset({"COMPLETE", "FAILED"})
PARTIAL_COLUMNS = ("sku", "quantity")
NORMAL_COLUMNS = ("sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete")
_SKU_COLUMNS = ("sku", "shop-sku", "offer-sku")
_MESSAGE_COLUMNS = ("error-message", "error_message", "errors", "message")
_LINE_COLUMNS = ("error-line", "error_line", "line")


class MappingError(ValueError):
    """The answer is not the shape Mirakl documents."""


@dataclass(frozen=True)
class OfferStock:
    """One offer's quantity. The other fields are needed by ``NORMAL`` mode only."""

    shop_sku: str
    quantity: int
    product_id: str | None = None
    product_id_type: str | None = None
    price: Decimal | None = None
    state: str = "11"  # Mirakl's default offer condition: new


def offers_csv(offers: Sequence[OfferStock], *, mode: str = "PARTIAL_UPDATE") -> bytes:
    """An OF01 file. ``PARTIAL_UPDATE``: ``sku;quantity``; ``NORMAL``: full offer rows (``update``)."""
    if mode not in IMPORT_MODES:
        raise ValueError(f"import mode must be one of {', '.join(IMPORT_MODES)} (REPLACE deletes unnamed offers)")
    if not offers:
        raise ValueError("an offers file needs at least one offer")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\n")
    columns = PARTIAL_COLUMNS if mode == "PARTIAL_UPDATE" else NORMAL_COLUMNS
    writer.writerow(columns)
    for offer in offers:
        if isinstance(offer.quantity, bool) or not isinstance(offer.quantity, int) or offer.quantity < 0:
            raise ValueError(f"{offer.shop_sku}: quantity must be a whole number, 0 or more")
        if mode == "PARTIAL_UPDATE":
            writer.writerow((offer.shop_sku, offer.quantity))
            continue
        if not offer.product_id or not offer.product_id_type or offer.price is None:
            raise ValueError(f"{offer.shop_sku}: a NORMAL import row needs product-id, product-id-type and price")
        writer.writerow(
            (
                offer.shop_sku,
                offer.product_id,
                offer.product_id_type,
                f"{offer.price:.2f}",
                offer.quantity,
                offer.state,
                "update",
            )
        )
    return out.getvalue().encode("utf-8")


def read_offers_csv(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """An offers file's header and rows (the sandbox and the tests read what we wrote)."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text), delimiter=DELIMITER)
    rows = list(reader)
    if not rows:
        raise MappingError("the file is empty")
    header = [h.strip() for h in rows[0]]
    return header, [dict(zip(header, row, strict=False)) for row in rows[1:] if any(cell.strip() for cell in row)]


@dataclass(frozen=True)
class ImportStatus:
    import_id: int
    status: str
    lines_read: int
    lines_in_success: int
    lines_in_error: int
    has_error_report: bool

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise MappingError(f"{value!r} is not a count") from None


def parse_import_status(body: Any) -> ImportStatus:
    if not isinstance(body, Mapping) or body.get("import_id") is None or not body.get("status"):
        raise MappingError("not an offers import status (OF02)")
    return ImportStatus(
        _int(body["import_id"]),
        str(body["status"]),
        _int(body.get("lines_read")),
        _int(body.get("lines_in_success")),
        _int(body.get("lines_in_error")),
        bool(body.get("has_error_report", False)),
    )


@dataclass(frozen=True)
class ErrorLine:
    line: int | None
    shop_sku: str | None
    message: str


def _pick(row: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def parse_error_report(data: bytes) -> list[ErrorLine]:
    """OF03: every line in error, with the SKU it names and Mirakl's reason."""
    header, rows = read_offers_csv(data)
    if not any(name in header for name in _MESSAGE_COLUMNS):
        raise MappingError("the error report has no error-message column")
    out = []
    for row in rows:
        line = _pick(row, _LINE_COLUMNS)
        out.append(
            ErrorLine(
                int(line) if line and line.isdigit() else None,
                _pick(row, _SKU_COLUMNS),
                _pick(row, _MESSAGE_COLUMNS) or "error",
            )
        )
    return out


# ---------------------------------------------------------------------- orders (OR11)
#: States in which an order's accepted lines are the customer's and ours to ship.
ACCEPTED_STATES = frozenset(
    {"WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING", "SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED"}
)
#: States in which nothing of the order will ship.
ENDED_STATES = frozenset({"REFUSED", "CANCELED"})
_DEAD_LINE_STATES = frozenset({"REFUSED", "CANCELED"})


@dataclass(frozen=True)
class MarketplaceLine:
    line_id: str
    offer_sku: str
    qty: int
    unit_price: Decimal
    state: str
    title: str
    refunded: int = 0
    #: Units cancelled after acceptance (OR30 ``cancelations``).
    cancelled: int = 0

    @property
    def live(self) -> bool:
        """Neither refused nor cancelled: a line the customer will get."""
        return self.state not in _DEAD_LINE_STATES


@dataclass(frozen=True)
class MarketplaceOrder:
    order_id: str
    state: str
    currency: str
    created: datetime
    updated: datetime
    lines: tuple[MarketplaceLine, ...]
    customer_name: str | None
    customer_email: str | None
    updated_text: str
    #: The order as OR11 answered it (its money is read by ``commerce.order_commerce``).
    body: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise MappingError(f"{name} is required")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{name} {value!r} is not an ISO 8601 date") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _money(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MappingError(f"{name} {value!r} is not an amount") from None


def parse_order(body: Any) -> MarketplaceOrder:
    """One OR11 order, checked: ids, state, currency, dates and every line's SKU, quantity and price."""
    if not isinstance(body, Mapping) or not body.get("order_id") or not body.get("order_state"):
        raise MappingError("not a Mirakl order (OR11): order_id and order_state are required")
    currency = body.get("currency_iso_code")
    if not isinstance(currency, str) or len(currency) != 3:
        raise MappingError("currency_iso_code is required")
    raw_lines = body.get("order_lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise MappingError("order_lines is required")
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, Mapping) or not raw.get("order_line_id") or not raw.get("offer_sku"):
            raise MappingError("each order line needs order_line_id and offer_sku")
        qty = raw.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise MappingError(f"order line {raw['order_line_id']}: quantity must be a whole number")
        price = raw.get("price_unit")
        if price is None and raw.get("price") is not None and qty:
            price = _money(raw["price"], "price") / qty
        refunds = raw.get("refunds") or []
        refunded = sum(int(r.get("quantity") or 0) for r in refunds if isinstance(r, Mapping))
        cancelled = sum(int(c.get("quantity") or 0) for c in raw.get("cancelations") or [] if isinstance(c, Mapping))
        lines.append(
            MarketplaceLine(
                str(raw["order_line_id"]),
                str(raw["offer_sku"]),
                qty,
                _money(price if price is not None else 0, "price_unit"),
                str(raw.get("order_line_state") or ""),
                str(raw.get("product_title") or raw["offer_sku"]),
                refunded,
                cancelled,
            )
        )
    found = body.get("customer")
    customer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    name = " ".join(str(customer[k]) for k in ("firstname", "lastname") if customer.get(k)) or None
    email = body.get("customer_notification_email")
    return MarketplaceOrder(
        str(body["order_id"]),
        str(body["order_state"]),
        currency,
        _time(body.get("created_date"), "created_date"),
        _time(body.get("last_updated_date"), "last_updated_date"),
        tuple(lines),
        name,
        str(email) if isinstance(email, str) and email else None,
        str(body["last_updated_date"]),
        dict(body),
    )
