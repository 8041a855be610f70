"""A local Mirakl marketplace for one shop, as its Seller API answers: offers imports (OF01 ``POST
/api/offers/imports``, multipart ``file`` + ``import_mode``, answered with an ``import_id``), their status
(OF02) and error report (OF03, the lines in error with ``error-line`` and ``error-message``), the offers
update OF24 (``POST /api/offers``) and the offers list (OF21 ``GET /api/offers``). One core,
``MiraklSandbox.handle``, serves the ASGI app and an ``httpx.MockTransport``.

Faithful in the ways that bite an integrator:

- **OF24 resets what it is not sent.** Every offer field absent from an OF24 offer goes back to its
  default (no price, no description, no lead time, no discount): a stock-only OF24 wipes the offer.
- **Imports are asynchronous**: ``WAITING`` → ``RUNNING`` → ``COMPLETE`` over ``import_processing_seconds``
  of the sandbox clock; lines apply only then. ``PARTIAL_UPDATE`` changes only the columns in the file of
  offers that exist (an unknown SKU is a line in error); ``NORMAL`` is emulated as a full offer write (a
  column left out resets the field: the conservative reading of the docs); ``REPLACE`` is refused here.
- **Products with offers**: OF01 ``with_products=true`` (the Seller API's "This file also contains product
  information") takes product attribute columns beside the offer's; each product row is checked against
  the operator's model (PM11 ``GET /api/products/attributes``: required attributes, media URLs) and its
  category against the operator's tree (H11 ``GET /api/hierarchies``); a row that fails is a line of the
  error report (OF03) with the reason, the others go live. An unknown column refuses the file.
- **Rate limits** per endpoint (429 ``Retry-After``), ``Authorization: <api key>`` (401 otherwise).

Orders (OR11 list with their money: prices, promotions, shipping, taxes in the asked ``order_tax_mode``;
OR21 accept/refuse, OR23 tracking, OR24 ship, ST01/ST11 partial shipments, OR28 refund, OR29 cancel an
order, OR30 cancel units of lines, RE01 the reason list) are kept by ``orders.OrderBook``, with the
acceptance window and the debit step.

Knobs: ``add_offer``, ``offer``, ``add_order``, ``order``, ``debit``, ``shipments``, ``throttle_next``,
``fail_next``, ``lose_next_answer`` (applied, then a 5xx), ``complete_imports``; ``calls`` logs every request."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

import httpx

from seamline.sandbox.amazon.state import RateBucket
from seamline.sandbox.clock import Clock, SystemClock
from seamline.sandbox.http import SandboxResponse, match_route
from seamline.sandbox.mirakl.orders import DEFAULT_REASONS, OrderBook, Reason
from seamline.sandbox.mirakl.orders import Order as MarketplaceOrder
from seamline.sandbox.mirakl.payouts import TransactionLog

RATE_LIMITS: dict[str, tuple[float, float]] = {
    "OF01": (1 / 60, 5.0),
    "OF02": (1.0, 20.0),
    "OF03": (1.0, 20.0),
    "OF21": (1.0, 20.0),
    "OF24": (1 / 60, 5.0),
    # Orders: OR11 is documented "at most once a minute" for a background pull; a pull pages through, so
    # the bucket holds a few pages. The writes are "at each order/shipment": bounded, not per minute.
    "OR11": (1 / 60, 10.0),
    "OR21": (5.0, 20.0),
    "OR23": (5.0, 20.0),
    "OR24": (5.0, 20.0),
    "OR28": (5.0, 20.0),
    "OR29": (5.0, 20.0),
    "OR30": (5.0, 20.0),
    "RE01": (1.0, 20.0),
    "H11": (1.0, 20.0),
    "PM11": (1.0, 20.0),
    "ST01": (5.0, 20.0),
    "ST11": (1.0, 20.0),
}
_SKU_COLUMNS = ("sku", "shop-sku", "offer-sku")
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/api/offers/imports$"), "OF01"),
    ("GET", re.compile(r"^/api/offers/imports/(?P<id>\d+)$"), "OF02"),
    ("GET", re.compile(r"^/api/offers/imports/(?P<id>\d+)/error_report$"), "OF03"),
    ("GET", re.compile(r"^/api/offers$"), "OF21"),
    ("POST", re.compile(r"^/api/offers$"), "OF24"),
    ("GET", re.compile(r"^/api/orders$"), "OR11"),
    ("PUT", re.compile(r"^/api/orders/refund$"), "OR28"),
    ("PUT", re.compile(r"^/api/orders/cancel$"), "OR30"),
    ("GET", re.compile(r"^/api/reasons$"), "RE01"),
    ("GET", re.compile(r"^/api/hierarchies$"), "H11"),
    ("GET", re.compile(r"^/api/products/attributes$"), "PM11"),
    ("PUT", re.compile(r"^/api/orders/(?P<id>[^/]+)/accept$"), "OR21"),
    ("PUT", re.compile(r"^/api/orders/(?P<id>[^/]+)/tracking$"), "OR23"),
    ("PUT", re.compile(r"^/api/orders/(?P<id>[^/]+)/ship$"), "OR24"),
    ("PUT", re.compile(r"^/api/orders/(?P<id>[^/]+)/cancel$"), "OR29"),
    ("POST", re.compile(r"^/api/shipments$"), "ST01"),
    ("GET", re.compile(r"^/api/shipments$"), "ST11"),
]


@dataclass(frozen=True)
class Attribute:
    """A product attribute of the operator's model (PM11): its code, label, type (``TEXT``, ``LONG_TEXT``,
    ``MEDIA``, ``LIST``, ``HIERARCHY`` for the category) and whether a product needs it."""

    code: str
    label: str
    type: str = "TEXT"
    required: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "hierarchy_code": "",
            "variant": self.code in ("color", "size"),
        }


#: An apparel operator's catalog, shaped like H11 and PM11 answers: a category tree's leaves and attributes.
DEFAULT_HIERARCHIES = {
    "H-APPAREL": "Apparel",
    "H-SHIRTS": "Apparel > Shirts",
    "H-OUTERWEAR": "Apparel > Outerwear",
}
DEFAULT_ATTRIBUTES = (
    Attribute("category", "Category", "HIERARCHY", required=True),
    Attribute("title", "Title", "TEXT", required=True),
    Attribute("description", "Description", "LONG_TEXT", required=True),
    Attribute("brand", "Brand", "TEXT", required=True),
    Attribute("main_image", "Main image", "MEDIA", required=True),
    Attribute("image_2", "Image 2", "MEDIA"),
    Attribute("image_3", "Image 3", "MEDIA"),
    Attribute("color", "Colour", "LIST", required=True),
    Attribute("size", "Size", "LIST", required=True),
    Attribute("ean", "EAN", "TEXT"),
    Attribute("composition", "Composition", "TEXT"),
    Attribute("care", "Care instructions", "TEXT"),
    Attribute("variant_group", "Variant group", "TEXT"),
)
#: An OF01 file's offer columns (the rest of a ``with_products`` file is product attributes).
OFFER_COLUMNS = frozenset(
    {
        "sku",
        "shop-sku",
        "offer-sku",
        "product-id",
        "product-id-type",
        "price",
        "quantity",
        "state",
        "update-delete",
        "description",
        "internal-description",
        "discount-price",
        "leadtime-to-ship",
    }
)


@dataclass
class SandboxConfig:
    api_key: str = "mirakl-sandbox-shop-key"
    shop_id: str = "2001"
    rate_limits: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(RATE_LIMITS))
    import_processing_seconds: float = 0.0
    #: The operator's acceptance window: an order not accepted or refused by then is refused by Mirakl.
    acceptance_window_seconds: float = 2 * 24 * 3600.0
    #: Accepted orders are debited at once (``SHIPPING``); False leaves them ``WAITING_DEBIT_PAYMENT``.
    auto_debit: bool = True
    #: The operator's reason list (RE01): OR28 takes a ``REFUND`` reason, OR30 a ``CANCELATION`` one.
    reasons: tuple[Reason, ...] = DEFAULT_REASONS
    #: The operator's catalog: its categories (H11, code → label; products go in these leaf codes) and its
    #: product attributes (PM11), checked on every product row of an OF01 ``with_products`` import.
    hierarchies: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HIERARCHIES))
    attributes: tuple[Attribute, ...] = DEFAULT_ATTRIBUTES


@dataclass
class Offer:
    """The offer fields the sandbox keeps; their defaults are what OF24 resets an unsent field to."""

    shop_sku: str
    product_id: str | None = None
    product_id_type: str | None = None
    price: Decimal | None = None
    quantity: int = 0
    state_code: str | None = None
    description: str | None = None
    leadtime_to_ship: int | None = None
    discount_price: Decimal | None = None
    active: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "shop_sku": self.shop_sku,
            "product_id": self.product_id,
            "product_id_type": self.product_id_type,
            "price": None if self.price is None else str(self.price),
            "quantity": self.quantity,
            "state_code": self.state_code,
            "description": self.description,
            "leadtime_to_ship": self.leadtime_to_ship,
            "discount": None if self.discount_price is None else {"discount_price": str(self.discount_price)},
            "active": self.active,
        }


@dataclass
class OfferImport:
    id: int
    mode: str
    header: list[str]
    rows: list[dict[str, str]]
    created_at: datetime
    status: str = "WAITING"
    errors: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    #: The file also carries product information (OF01 ``with_products``).
    with_products: bool = False


@dataclass(frozen=True)
class CallRecord:
    at: datetime
    operation: str | None
    method: str
    path: str
    status: int


def _problem(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message}


class MiraklSandbox:
    def __init__(self, config: SandboxConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock: Clock = clock or SystemClock()
        now = self.clock.now()
        self.buckets = {
            op: RateBucket(rate, burst, burst, now) for op, (rate, burst) in self.config.rate_limits.items()
        }
        self.offers: dict[str, Offer] = {}
        #: Products created by ``with_products`` imports, by shop SKU: their attribute values.
        self.products: dict[str, dict[str, str]] = {}
        self.imports: dict[int, OfferImport] = {}
        self.book = OrderBook(
            acceptance_window=timedelta(seconds=self.config.acceptance_window_seconds),
            auto_debit=self.config.auto_debit,
            reasons=self.config.reasons,
        )
        self.calls: list[CallRecord] = []
        self._throttles: list[float] = []
        self._faults: list[int] = []
        #: Operations whose next call is applied and then answered 5xx (a lost answer).
        self._lost: dict[str, int] = {}
        self._lock = threading.RLock()
        self.transaction_log = TransactionLog()

    # -- knobs ------------------------------------------------------------------------------------------

    def add_offer(self, shop_sku: str, **values: Any) -> Offer:
        with self._lock:
            offer = Offer(shop_sku, **values)
            self.offers[shop_sku] = offer
            return offer

    def offer(self, shop_sku: str) -> Offer | None:
        return self.offers.get(shop_sku)

    def add_order(
        self,
        order_id: str,
        lines: list[tuple[str, int, Decimal]],
        *,
        currency: str = "EUR",
        customer: Mapping[str, Any] | None = None,
        **money: Any,
    ) -> MarketplaceOrder:
        """A customer's order of ``lines`` (offer sku, quantity, unit price), ``WAITING_ACCEPTANCE``; ``money``:
        ``tax_mode``, ``tax_rate``, ``shipping`` and ``promotions`` by line number (``OrderBook.add``)."""
        with self._lock:
            return self.book.add(order_id, lines, now=self.clock.now(), currency=currency, customer=customer, **money)

    def order(self, order_id: str) -> MarketplaceOrder:
        with self._lock:
            self.book.expire(self.clock.now())
            return self.book.orders[order_id]

    def transaction_logs(self, **rates: Decimal) -> dict[str, Any]:
        """The next billing cycle's transaction lines (TL02's answer, ``payouts.py``): every line shipped and
        refund made since the last one, the operator's commission, and the ``PAYMENT`` to the seller's bank."""
        with self._lock:
            return self.transaction_log.cycle(self.book.orders.values(), self.clock.now(), **rates)

    def debit(self, order_id: str, *, ok: bool = True) -> None:
        """The customer's payment for an accepted order went through (``SHIPPING``) or failed (``CANCELED``)."""
        with self._lock:
            self.book.debit(order_id, now=self.clock.now(), ok=ok)

    def shipments(self, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s.as_json() for s in self.book.shipments if s.order_id == order_id]

    def throttle_next(self, count: int = 1, *, retry_after: float = 1.0) -> None:
        with self._lock:
            self._throttles.extend([retry_after] * count)

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        with self._lock:
            self._faults.extend([status] * count)

    def lose_next_answer(self, operation: str, status: int = 504) -> None:
        """The next ``operation`` call is applied, and its answer lost (``status``): the caller cannot know."""
        with self._lock:
            self._lost[operation] = status

    def complete_imports(self) -> None:
        """Finish every import now, whatever the processing delay."""
        with self._lock:
            for item in self.imports.values():
                self._progress(item, self.clock.now(), force=True)

    def product(self, shop_sku: str) -> dict[str, str] | None:
        return self.products.get(shop_sku)

    def operations(self, operation: str) -> list[CallRecord]:
        return [c for c in self.calls if c.operation == operation]

    # -- HTTP -------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            answer = self.handle(
                request.method, request.url.path, request.url.query.decode(), dict(request.headers), request.read()
            )
            return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        with self._lock:
            now = self.clock.now()
            lowered = {k.lower(): v for k, v in headers.items()}
            params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
            operation, match = match_route(_ROUTES, method, path)
            extra: dict[str, str] = {}
            content_type = "application/json"
            if operation is None or match is None:
                status, answer = 404, _problem(404, f"No resource at {method} {path}")
            elif lowered.get("authorization") != self.config.api_key:
                status, answer = 401, _problem(401, "Unauthorized")
            else:
                wait = self._limit(operation, now)
                if wait is not None:
                    status, answer = 429, _problem(429, "Too Many Requests")
                    extra["retry-after"] = str(max(1, int(wait + 0.999)))
                elif self._faults:
                    status = self._faults.pop(0)
                    answer = _problem(status, "Service Unavailable")
                else:
                    status, answer, content_type = self._dispatch(
                        operation, match.groupdict(), params, lowered, body, now
                    )
                    if operation in self._lost and status < 400:
                        status = self._lost.pop(operation)
                        answer, content_type = _problem(status, "Gateway Timeout"), "application/json"
            self.calls.append(CallRecord(now, operation, method.upper(), path, status))
            content = _content(answer)
            return SandboxResponse(status, content, {"content-type": content_type, **extra})

    def _limit(self, operation: str, now: datetime) -> float | None:
        if self._throttles:
            return self._throttles.pop(0)
        bucket = self.buckets.get(operation)
        return None if bucket is None else bucket.take(now)

    def _dispatch(
        self,
        operation: str,
        args: dict[str, str],
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        now: datetime,
    ) -> tuple[int, Any, str]:
        if operation == "OF01":
            return self._of01(params, headers, body, now)
        if operation == "OF02":
            return self._of02(int(args["id"]), now)
        if operation == "OF03":
            return self._of03(int(args["id"]), now)
        if operation == "H11":
            items = [
                {"code": c, "label": label, "level": label.count(">") + 1, "parent_code": ""}
                for c, label in sorted(self.config.hierarchies.items())
            ]
            return 200, {"hierarchies": items}, "application/json"
        if operation == "PM11":
            return 200, {"attributes": [a.as_json() for a in self.config.attributes]}, "application/json"
        if operation == "RE01":
            return 200, {"reasons": [r.as_json() for r in self.config.reasons]}, "application/json"
        if operation.startswith(("OR", "ST")):
            return (*self._orders(operation, args, params, body, now), "application/json")
        if operation == "OF21":
            offers = [o.as_json() for o in sorted(self.offers.values(), key=lambda o: o.shop_sku)]
            return 200, {"offers": offers, "total_count": len(offers)}, "application/json"
        return self._of24(body)

    # -- orders and shipments (``orders.OrderBook``) -----------------------------------------------------

    def _orders(
        self, operation: str, args: dict[str, str], params: dict[str, str], body: bytes, now: datetime
    ) -> tuple[int, Any]:
        book = self.book
        if operation == "OR11":
            return book.list(params, now)
        if operation == "ST11":
            return book.list_shipments(params)
        if operation in ("OR24", "OR29"):
            return book.ship(args["id"], now) if operation == "OR24" else book.cancel(args["id"], now)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return 400, _problem(400, "The body is not JSON.")
        if operation == "OR21":
            return book.accept(args["id"], payload, now)
        if operation == "OR23":
            return book.tracking(args["id"], payload, now)
        if operation == "ST01":
            return book.create_shipments(payload, now)
        if operation == "OR30":
            return book.cancel_lines(payload, now)
        return book.refund(payload, now)

    # -- OF01, OF02, OF03 -------------------------------------------------------------------------------

    def _of01(
        self, params: dict[str, str], headers: dict[str, str], body: bytes, now: datetime
    ) -> tuple[int, Any, str]:
        parts = _multipart(headers.get("content-type", ""), body)
        if "file" not in parts:
            return 400, _problem(400, "A 'file' part is required."), "application/json"
        mode = parts.get("import_mode", b"").decode() or params.get("import_mode") or "NORMAL"
        if mode == "REPLACE":
            return 400, _problem(400, "REPLACE deletes every offer not in the file: not emulated."), "application/json"
        if mode not in ("NORMAL", "PARTIAL_UPDATE"):
            return 400, _problem(400, f"Unknown import_mode {mode}."), "application/json"
        try:
            text = parts["file"].decode("utf-8-sig")
        except UnicodeDecodeError:
            return 400, _problem(400, "The file is not UTF-8."), "application/json"
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        if not rows or not any(c in _SKU_COLUMNS for c in rows[0]):
            return 400, _problem(400, "The file needs a header with a sku column."), "application/json"
        header = [h.strip() for h in rows[0]]
        records = [dict(zip(header, r, strict=False)) for r in rows[1:] if any(cell.strip() for cell in r)]
        flag = (parts.get("with_products", b"").decode() or params.get("with_products") or "false").lower()
        with_products = flag == "true"
        if with_products:
            unknown = sorted(set(header) - OFFER_COLUMNS - {a.code for a in self.config.attributes})
            if unknown:
                message = f"Unknown column(s) {', '.join(unknown)}: not an attribute of the operator's model (PM11)."
                return 400, _problem(400, message), "application/json"
        item = OfferImport(len(self.imports) + 1001, mode, header, records, now, with_products=with_products)
        self.imports[item.id] = item
        return 201, {"import_id": item.id}, "application/json"

    def _of02(self, import_id: int, now: datetime) -> tuple[int, Any, str]:
        item = self.imports.get(import_id)
        if item is None:
            return 404, _problem(404, f"Import {import_id} not found."), "application/json"
        self._progress(item, now)
        done = item.status == "COMPLETE"
        return (
            200,
            {
                "import_id": item.id,
                "mode": item.mode,
                "status": item.status,
                "date_created": item.created_at.isoformat().replace("+00:00", "Z"),
                "lines_read": len(item.rows) if done else 0,
                "lines_in_success": len(item.rows) - len(item.errors) if done else 0,
                "lines_in_error": len(item.errors) if done else 0,
                "offer_inserted": item.inserted,
                "offer_updated": item.updated,
                "offer_deleted": 0,
                "has_error_report": done and bool(item.errors),
            },
            "application/json",
        )

    def _of03(self, import_id: int, now: datetime) -> tuple[int, Any, str]:
        item = self.imports.get(import_id)
        if item is None:
            return 404, _problem(404, f"Import {import_id} not found."), "application/json"
        self._progress(item, now)
        if item.status != "COMPLETE" or not item.errors:
            return 404, _problem(404, f"Import {import_id} has no error report."), "application/json"
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow([*item.header, "error-line", "error-message"])
        for line, row, message in item.errors:
            writer.writerow([*(row.get(h, "") for h in item.header), line, message])
        return 200, out.getvalue().encode(), "text/csv"

    def _progress(self, item: OfferImport, now: datetime, *, force: bool = False) -> None:
        if item.status in ("COMPLETE", "FAILED"):
            return
        delay = timedelta(seconds=self.config.import_processing_seconds)
        if not force and now < item.created_at + delay:
            if now >= item.created_at + delay / 2:
                item.status = "RUNNING"
            return
        for number, row in enumerate(item.rows, start=1):
            problem = self._apply_row(item, row)
            if problem:
                item.errors.append((number, row, problem))
        item.status = "COMPLETE"

    def _product_problem(self, row: dict[str, str]) -> str | None:
        """A product row checked against the operator's model: required attributes, a known category (H11),
        media as https URLs."""
        for attribute in self.config.attributes:
            value = row.get(attribute.code, "").strip()
            if not value:
                if attribute.required:
                    return f"The attribute '{attribute.code}' ({attribute.label}) is required."
                continue
            if attribute.type == "HIERARCHY" and value not in self.config.hierarchies:
                return f"The category '{value}' does not exist in the operator's catalog (H11)."
            if attribute.type == "MEDIA" and not value.startswith("https://"):
                return f"The media '{attribute.code}' must be an https URL."
        return None

    def _apply_row(self, item: OfferImport, row: dict[str, str]) -> str | None:
        sku = next((row[c].strip() for c in _SKU_COLUMNS if row.get(c, "").strip()), "")
        if not sku:
            return "The offer sku is required."
        if item.with_products:
            problem = self._product_problem(row)
            if problem is not None:
                return problem
            self.products[sku] = {a.code: row[a.code] for a in self.config.attributes if row.get(a.code)}
        values: dict[str, Any] = {}
        if "quantity" in row:
            raw = row["quantity"].strip()
            if not raw.isdigit():
                return f"The quantity '{raw}' is invalid: a whole number, 0 or more."
            values["quantity"] = int(raw)
        if "price" in row:
            try:
                price = Decimal(row["price"].strip())
            except InvalidOperation:
                return f"The price '{row['price']}' is invalid."
            if price < 0:
                return "The price must not be negative."
            values["price"] = price
        for column, name in (
            ("product-id", "product_id"),
            ("product-id-type", "product_id_type"),
            ("state", "state_code"),
        ):
            if column in row:
                values[name] = row[column].strip() or None
        offer = self.offers.get(sku)
        if item.mode == "PARTIAL_UPDATE":
            if offer is None:
                return f"The offer with sku '{sku}' does not exist: PARTIAL_UPDATE updates existing offers only."
            for name, value in values.items():
                setattr(offer, name, value)
            item.updated += 1
            return None
        if row.get("update-delete", "").strip() == "delete":
            self.offers.pop(sku, None)
            return None
        if not values.get("product_id") or not values.get("product_id_type") or values.get("price") is None:
            return "product-id, product-id-type and price are required in NORMAL mode."
        if offer is None:
            item.inserted += 1
        else:
            item.updated += 1
        self.offers[sku] = Offer(sku, **values)  # NORMAL writes the whole offer: what the file omits is reset
        return None

    # -- OF24 -------------------------------------------------------------------------------------------

    def _of24(self, body: bytes) -> tuple[int, Any, str]:
        """Create or update offers from JSON. Every field an offer is not sent is reset to its default: that
        is Mirakl's documented behaviour, and why stock must never travel this way alone."""
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, _problem(400, "The body is not JSON."), "application/json"
        offers = payload.get("offers") if isinstance(payload, Mapping) else None
        if not isinstance(offers, list) or not offers:
            return 400, _problem(400, "'offers' is required."), "application/json"
        for data in offers:
            if not isinstance(data, Mapping) or not data.get("shop_sku"):
                return 400, _problem(400, "Each offer needs a shop_sku."), "application/json"
        known = {f.name for f in fields(Offer)}
        for data in offers:
            values = {k: v for k, v in data.items() if k in known and k != "shop_sku"}
            if "price" in values and values["price"] is not None:
                values["price"] = Decimal(str(values["price"]))
            discount = data.get("discount")
            if isinstance(discount, Mapping) and discount.get("discount_price") is not None:
                values["discount_price"] = Decimal(str(discount["discount_price"]))
            self.offers[str(data["shop_sku"])] = Offer(str(data["shop_sku"]), **values)
        item = OfferImport(len(self.imports) + 1001, "OF24", [], [], self.clock.now(), status="COMPLETE")
        self.imports[item.id] = item
        return 201, {"import_id": item.id}, "application/json"


def _content(answer: Any) -> bytes:
    """A JSON answer's bytes; nothing for a 204 (``None``)."""
    if answer is None:
        return b""
    return answer if isinstance(answer, bytes) else json.dumps(answer).encode()


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by field name (stdlib only)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    out: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = payload
    return out
