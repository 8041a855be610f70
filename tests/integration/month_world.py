"""A brand's month, played through the public API, the channels' webhooks and the sandboxes (issue 17, "Tests
and figures"), for the tests that check the month ties out. Reusable: each kind of business is one method,
so later work (cost of goods, gift cards) adds its own days to the same month.

The brand sells on Shopify (the fixture's order shapes: discounts, shipping, taxes included and excluded;
partial refunds with shipping refunds), at its Soho store through Square (till days with sales and a return,
each day closed), to a wholesale account on terms through the B2B portal, and on its own web channel (an
exchange). Its books are a Xero organisation (the in-process sandbox) connected from the first day, whose
chart has our discounts account archived (it books discounts to its own 4015): the discounted invoice is
refused until the connection maps the account, and is then exported again."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from seamline.channels.square import wiring as square_wiring
from seamline.channels.xero import wiring as xero_wiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.sandbox.square import SquareSandbox
from seamline.sandbox.xero import XeroSandbox
from seamline.service import Seamline
from tests.integration.order_world import fulfil
from tests.integration.shopify_world import CHANNEL as SHOPIFY
from tests.integration.shopify_world import ShopWorld
from tests.shopify_payloads import shopify_order, shopify_refund, tax_line

SKU = "OVS-001-NVY-M"
OTHER = "OVS-001-OLV-L"
LARGE = "OVS-001-NVY-L"
SQUARE_STORE = "EF6D9SACKWBKZ"
SQUARE = "soho-square"
DAY = 86400
CONFIG: dict[str, Any] = {
    "tax_codes": [
        {"code": "VAT20", "rate": "0.20", "name": "VAT 20%", "xero_tax_type": "OUTPUT2", "qbo_tax_code": "5"},
        {"code": "ZERO", "rate": "0", "xero_tax_type": "ZERORATEDOUTPUT", "qbo_tax_code": "9"},
    ],
    "default_tax_code": "VAT20",
    "stores": {"STORE-1": {"timezone": "Europe/London", "float": "100.00"}},
}
JANE = {"email": "jane.doe@example.com", "name": "Jane Doe"}
#: The discounts account (finance chart default): archived in the brand's Xero chart at the start.
DISCOUNTS = "4010"
#: The organisation's own discounts account.
XERO_DISCOUNTS = "4015"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Month:
    client: TestClient
    app: Seamline
    clock: FixedClock
    shop: ShopWorld = field(init=False)
    square: SquareSandbox = field(init=False)
    xero: XeroSandbox = field(init=False)
    #: What each channel said its orders and refunds came to: (kind, channel's id) → total.
    channel_totals: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    #: Our order id per channel's order id.
    orders: dict[str, str] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    xero_settings: dict[str, Any] = field(default_factory=dict)
    gift_card: str = ""
    _notified: int = 0

    # ------------------------------------------------------------------------------------------ the brand
    def open(self) -> None:
        """The channels, the finance configuration, stock, the wholesale account and the books."""
        client = self.client
        self.shop = ShopWorld(client, self.app, self.clock)  # the conftest world and the Shopify channel
        ok(client.put("/v1/finance/config", json=CONFIG), 201)
        # The month's stock arrives at cost (issue 17's cost of goods): two deliveries of the hero SKU at
        # two costs, so its average is a weighted one; the store's stock at a third.
        for sku, qty, cost, to in (
            (SKU, 20, "31.00", "WH"),
            (SKU, 10, "34.00", "WH"),
            (OTHER, 10, "18.50", "WH"),
            (LARGE, 10, "31.00", "WH"),
            (SKU, 10, "32.40", "STORE-1"),
        ):
            body = {"kind": "receipt", "sku": sku, "qty": qty, "to": to, "unit_cost": cost}
            ok(client.post("/v1/movements", json=body), 201)
        ok(client.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["WH"]}), 201)
        account = {"name": "Atelier Nord", "channel": "b2b", "currency": "EUR", "payment_terms_days": 60}
        ok(client.put("/v1/b2b/accounts/ATELIER", json=account), 201)
        url = f"sandbox:square-{uuid.uuid4().hex[:8]}"
        settings = {
            "provider": "square",
            "base_url": url,
            "access_token": "soho-token",
            "signature_key": "soho-signature-key",
            "notification_url": f"https://seamline.example/webhooks/square/{SQUARE}",
            "locations": {SQUARE_STORE: "STORE-1"},
            "currency": "EUR",
        }
        body = {"kind": "pos", "sources": ["STORE-1"], "settings": settings}
        ok(client.put(f"/v1/channels/{SQUARE}", json=body), 201)
        self.wiring.run_due(force=True)  # the catalog reaches Square
        self.square = square_wiring.sandbox(url)
        self.square.clock = self.clock.now  # sales rung up on the month's days
        books = f"sandbox:xero-{uuid.uuid4().hex[:8]}"
        xero_settings = {"base_url": books, "access_token": "xero-token", "tenant_id": "tenant-1"}
        ok(client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": xero_settings}), 201)
        self.xero = xero_wiring.sandbox(books, xero_settings)
        self.xero.config.archived.add(DISCOUNTS)  # the organisation books discounts to 4015 now
        self.xero_settings = xero_settings

    @property
    def wiring(self) -> Any:
        return self.client.app.state.wiring  # type: ignore[attr-defined]

    @property
    def integration(self) -> Integration:
        found: Integration = self.client.app.state.integration  # type: ignore[attr-defined]
        return found

    def next_day(self, days: int = 1) -> None:
        self.deliver()
        self.clock.advance(days * DAY)

    def deliver(self, rounds: int = 6) -> None:
        """The worker's day: inboxes processed, deliveries made (a payment waits for its invoice)."""
        for _ in range(rounds):
            self.integration.inbox.drain()
            self.integration.dispatcher.drain()
            self.clock.advance(600)

    # ------------------------------------------------------------------------------------------ Shopify
    def shopify_order(self, number: int, payload: dict[str, Any]) -> str:
        payload.update(test=False, id=820982911946154508 + number, name=f"#{1000 + number}", order_number=1000 + number)
        self.shop.post(self.shop.sender.build("orders/create", payload))
        self.shop.process()
        order_id = next(
            o["id"]
            for o in ok(self.client.get("/v1/orders", params={"channel": SHOPIFY, "limit": 500}))["items"]
            if o["external_id"] == str(payload["id"])
        )
        self.orders[str(payload["id"])] = order_id
        self.channel_totals[("order", str(payload["id"]))] = Decimal(payload["total_price"])
        fulfil(self.client, order_id)
        return str(payload["id"])

    def shopify_discounted_order(self) -> str:
        """The reported order: an 18.00 discount over two lines, 10.00 shipping, no tax; Shopify's 170.00."""
        body = shopify_order(
            [(SKU, "90.00", 1, "1001", []), (OTHER, "44.00", 2, "1002", [])],
            discounts={"1001": "9.00", "1002": "9.00"},
            shipping="10.00",
            total="170.00",
            currency="EUR",
        )
        return self.shopify_order(1, body)

    def shopify_tax_included_order(self) -> str:
        """VAT included in the prices: 89.00 (14.83 of it VAT) and 5.00 shipping (0.83 VAT); 94.00."""
        body = shopify_order(
            [(SKU, "89.00", 1, "2001", [tax_line("VAT", 0.2, "14.83", "EUR")])],
            discounts={},
            shipping="5.00",
            shipping_taxes=[tax_line("VAT", 0.2, "0.83", "EUR")],
            total="94.00",
            taxes_included=True,
            currency="EUR",
        )
        return self.shopify_order(2, body)

    def shopify_tax_excluded_order(self) -> str:
        """VAT on top: 2 x 44.00 + 17.60 VAT, 10.00 shipping + 2.00 VAT; 117.60."""
        body = shopify_order(
            [(OTHER, "44.00", 2, "3001", [tax_line("VAT", 0.2, "17.60", "EUR")])],
            discounts={},
            shipping="10.00",
            shipping_taxes=[tax_line("VAT", 0.2, "2.00", "EUR")],
            total="117.60",
            currency="EUR",
        )
        return self.shopify_order(3, body)

    def shopify_refund(
        self,
        order: str,
        lines: list[tuple[str, int, str, str]],
        skus: dict[str, str],
        refunded: str,
        shipping: tuple[str, str] | None = None,
    ) -> None:
        body = shopify_refund(lines, refunded=refunded, shipping=shipping, currency="EUR")
        body.update(order_id=int(order), id=int(order) * 10 + len(self.channel_totals))
        for item in body["refund_line_items"]:
            item["line_item"]["sku"] = skus[str(item["line_item_id"])]
        self.shop.post(self.shop.sender.build("refunds/create", body))
        self.shop.process()
        self.channel_totals[("refund", str(body["id"]))] = Decimal(refunded)

    # ------------------------------------------------------------------------------------------ the till
    def till_sale(self, lines: list[tuple[str, int]], tenders: list[tuple[str, int]]) -> str:
        """A sale rung up on Square; its signed webhooks reach us and become a till sale at STORE-1."""
        sale = self.square.ring_up(SQUARE_STORE, lines, tenders)
        for note in self.square.notifications[self._notified :]:
            response = self.client.post(
                f"/webhooks/square/{SQUARE}", content=note.body, headers={**note.headers, "Authorization": ""}
            )
            assert response.status_code == 200, response.text
        self._notified = len(self.square.notifications)
        self.integration.inbox.drain()
        found = ok(self.client.get("/v1/orders", params={"channel": "pos:STORE-1", "limit": 500}))["items"]
        order_id = next(o["id"] for o in found if o["external_id"] == sale["id"])
        self.orders[sale["id"]] = order_id
        self.channel_totals[("sale", sale["id"])] = Decimal(sale["total_money"]["amount"]) / 100
        return order_id

    def till_return(self, order_id: str, sku: str, tender: str) -> None:
        body = {
            "order_id": order_id,
            "location": "STORE-1",
            "lines": [{"sku": sku, "qty": 1, "condition": "sellable"}],
            "refund": {"tender": tender},
        }
        ok(self.client.post("/v1/returns", json=body), 201)

    def gift_card_day(self) -> str:
        """A gift card sold by customer service (through the API), then 30.00 of it spent at the till on a
        sale the rest of which is paid by card."""
        card = ok(self.client.post("/v1/gift-cards", json={"amount": "50.00", "currency": "EUR"}), 201)
        body = {
            "location": "STORE-1",
            "external_id": "GC-1",
            "currency": "EUR",
            "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
            "tenders": [
                {"type": "gift_card", "amount": "30.00", "code": card["code"]},
                {"type": "card", "amount": "59.00"},
            ],
        }
        sale = ok(self.client.post("/v1/sales", json=body), 201)
        self.orders["GC-1"] = sale["id"]
        self.channel_totals[("sale", "GC-1")] = Decimal("89.00")
        self.gift_card = str(card["code"])
        return str(sale["id"])

    def close_till_days(self) -> list[str]:
        """Close every store day that has till documents awaiting their settlement."""
        docs = ok(self.client.get("/v1/finance/documents", params={"limit": 500}))["items"]
        days = sorted({d["issued_on"] for d in docs if d["store"] == "STORE-1"} - self.closed)
        for day in days:
            ok(self.client.post(f"/v1/finance/settlements/STORE-1/{day}/close"))
        self.closed.update(days)
        return days

    # ------------------------------------------------------------------------------------------ wholesale, web
    def wholesale_order(self, po: str, qty: int) -> str:
        body = {"po_number": po, "lines": [{"sku": SKU, "qty": qty}]}
        order = ok(self.client.post("/v1/b2b/accounts/ATELIER/orders", json=body), 201)
        fulfil(self.client, order["id"])
        self.orders[po] = order["id"]
        return str(order["id"])

    def web_order_exchanged(self) -> tuple[str, str]:
        """A web order (Jane's), shipped; she sends the size back for two of a larger size, paying the
        difference by card: the new goods are paid partly by the goods brought back."""
        placed = {
            "channel": "web",
            "external_id": "W-100",
            "currency": "EUR",
            "lines": [{"sku": SKU, "qty": 1, "unit_price": "89.00"}],
            "tenders": [{"type": "card", "amount": "89.00"}],
            "customer": JANE,
        }
        order = ok(self.client.post("/v1/orders", json=placed), 201)
        fulfil(self.client, order["id"])
        exchange = {
            "order_id": order["id"],
            "location": "WH",
            "return_lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}],
            "lines": [{"sku": LARGE, "qty": 2}],
            "tenders": [{"type": "card", "amount": "89.00"}],
        }
        new = ok(self.client.post("/v1/exchanges", json=exchange), 201)["order"]
        fulfil(self.client, new["id"])
        return str(order["id"]), str(new["id"])

    # ------------------------------------------------------------------------------------------ the month
    def play(self) -> None:
        """Four weeks of business, the books exported as they go; the refused invoice fixed at the end."""
        self.open()
        a = self.shopify_discounted_order()
        self.shopify_tax_included_order()
        c = self.shopify_tax_excluded_order()
        first = self.till_sale([(SKU, 2)], [("CARD", 17800)])
        self.till_sale([(SKU, 1)], [("CARD", 8900)])
        self.wholesale_order("PO-1", 4)
        self.next_day()
        self.close_till_days()
        self.next_day(6)
        # Week two: partial refunds, one with its shipping; a return at the till and the day's sales.
        self.shopify_refund(a, [("1001", 1, "81.00", "0.00")], {"1001": SKU}, "91.00", shipping=("10.00", "0.00"))
        self.shopify_refund(c, [("3001", 1, "44.00", "8.80")], {"3001": OTHER}, "52.80")
        self.till_return(first, SKU, "card")
        self.till_sale([(SKU, 1)], [("CARD", 8900)])
        self.gift_card_day()
        self.next_day()
        self.close_till_days()
        self.next_day(6)
        # Week three: the exchange, and the account's second order.
        self.web_order_exchanged()
        self.wholesale_order("PO-2", 2)
        self.next_day(8)
        self.deliver()

    def fix_the_books(self) -> dict[str, Any]:
        """Map our discounts account to the organisation's on the connection (once, by configuration) and
        export the refused documents again."""
        self.xero_settings = {**self.xero_settings, "accounts": {DISCOUNTS: XERO_DISCOUNTS}}
        ok(self.client.put("/v1/finance/accounting/books", json={"kind": "xero", "settings": self.xero_settings}))
        queued = ok(self.client.post("/v1/finance/accounting/books/backfill", json={"include_refused": True}))
        self.deliver(10)
        return queued

    # ------------------------------------------------------------------------------------------ the figures
    def journal_balances(self, accounts: dict[str, str] | None = None) -> dict[str, Decimal]:
        """Seamline's journal, debits less credits per account (named as ``accounts`` maps them)."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = ok(self.client.get("/v1/finance/journal", params=params))
            for entry in page["items"]:
                for line in entry["lines"]:
                    account = (accounts or {}).get(line["account"], line["account"])
                    out[account] += Decimal(line["debit"]) - Decimal(line["credit"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return {k: v for k, v in out.items() if v}

    def xero_balances(self, receivable: str = "1100", tax: str = "2200") -> dict[str, Decimal]:
        """The trial balance of what the Xero organisation holds, debits less credits per account code:
        sales invoices (receivable debited, each line's account credited net of its tax, the tax to the tax
        account), credit notes the other way, payments (the bank account against the receivable, or back for a
        refund of a credit note), allocations (receivable to receivable: nothing) and manual journals."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for doc, sign in [(d, 1) for d in self.xero.invoices.values()] + [
            (d, -1) for d in self.xero.credit_notes.values()
        ]:
            out[receivable] += sign * doc.total
            for line in doc.data["LineItems"]:
                amount, line_tax = Decimal(str(line["LineAmount"])), Decimal(str(line["TaxAmount"]))
                net = amount - line_tax if doc.data["LineAmountTypes"] == "Inclusive" else amount
                out[line["AccountCode"]] -= sign * net
                out[tax] -= sign * line_tax
        for payment in self.xero.payments.values():
            sign = 1 if payment["PaymentType"] == "ACCRECPAYMENT" else -1
            amount = Decimal(str(payment["Amount"]))
            out[payment["Account"]["Code"]] += sign * amount
            out[receivable] -= sign * amount
        for journal in self.xero.manual_journals.values():
            for line in journal["JournalLines"]:
                out[line["AccountCode"]] += Decimal(str(line["LineAmount"]))
        return {k: v for k, v in out.items() if v}
