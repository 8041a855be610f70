"""The Mirakl sandbox and client: OF24 really resets every unsent field (so we must never use it for stock),
OF01 in PARTIAL_UPDATE touches only the quantity, imports run asynchronously and report lines in error, and
the endpoints' rate limits answer 429 with Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from seamline.channels.mirakl import mapper
from seamline.channels.mirakl.client import MiraklClient, MiraklConfig, MiraklRejected, MiraklThrottled
from seamline.domain.clock import FixedClock
from seamline.sandbox.mirakl import MiraklSandbox, SandboxConfig

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
BASE = "https://marketplace.mirakl.sandbox.test"


class World:
    def __init__(self, *, max_wait: float = 30.0, **config: Any) -> None:
        self.clock = FixedClock(START)
        self.sandbox = MiraklSandbox(SandboxConfig(**config), clock=self.clock)
        self.sandbox.add_offer(
            "OVS-001-NVY-M",
            product_id="5012345678900",
            product_id_type="EAN",
            price=Decimal("89.00"),
            quantity=5,
            description="Navy overshirt, M",
            leadtime_to_ship=2,
            discount_price=Decimal("79.00"),
        )
        self.client = MiraklClient(
            MiraklConfig(BASE, self.sandbox.config.api_key, max_throttle_wait_seconds=max_wait),
            transport=self.sandbox.transport(),
            sleep=self.clock.advance,
        )
        self.raw = httpx.Client(
            transport=self.sandbox.transport(), base_url=BASE, headers={"Authorization": self.sandbox.config.api_key}
        )


def test_a_stock_only_of24_resets_every_field_it_was_not_sent() -> None:
    world = World()
    answer = world.raw.post("/api/offers", json={"offers": [{"shop_sku": "OVS-001-NVY-M", "quantity": 3}]})
    assert answer.status_code == 201
    offer = world.sandbox.offer("OVS-001-NVY-M")
    assert offer is not None
    assert offer.quantity == 3
    assert (offer.price, offer.description, offer.leadtime_to_ship, offer.discount_price) == (None, None, None, None)
    assert offer.product_id is None, "the offer lost its product link too"


def test_of01_partial_update_changes_the_quantity_and_nothing_else() -> None:
    world = World()
    import_id = world.client.import_offers(mapper.offers_csv([mapper.OfferStock("OVS-001-NVY-M", 3)]))
    status = world.client.import_status(import_id)
    assert status.status == "COMPLETE"
    assert (status.lines_read, status.lines_in_error) == (1, 0)
    offer = world.sandbox.offer("OVS-001-NVY-M")
    assert offer is not None
    assert (offer.quantity, offer.price, offer.description, offer.leadtime_to_ship) == (
        3,
        Decimal("89.00"),
        "Navy overshirt, M",
        2,
    )
    assert offer.discount_price == Decimal("79.00")


def test_an_import_runs_asynchronously_and_reports_its_lines_in_error() -> None:
    world = World(import_processing_seconds=60)
    content = mapper.offers_csv([mapper.OfferStock("OVS-001-NVY-M", 1), mapper.OfferStock("GHOST", 2)])
    import_id = world.client.import_offers(content)
    assert world.client.import_status(import_id).status == "WAITING"
    world.clock.advance(30)
    assert world.client.import_status(import_id).status == "RUNNING"
    assert world.sandbox.offer("OVS-001-NVY-M").quantity == 5  # type: ignore[union-attr]
    world.clock.advance(30)
    status = world.client.import_status(import_id)
    assert (status.status, status.lines_in_success, status.lines_in_error, status.has_error_report) == (
        "COMPLETE",
        1,
        1,
        True,
    )
    [error] = world.client.error_report(import_id)
    assert (error.line, error.shop_sku) == (2, "GHOST")
    assert "does not exist" in error.message
    assert world.sandbox.offer("OVS-001-NVY-M").quantity == 1  # type: ignore[union-attr]


def test_of01_is_rate_limited_with_retry_after_and_the_client_waits_or_hands_back() -> None:
    world = World(max_wait=120, rate_limits={"OF01": (1 / 60, 1.0)})
    content = mapper.offers_csv([mapper.OfferStock("OVS-001-NVY-M", 1)])
    world.client.import_offers(content)
    raw = world.raw.post(
        "/api/offers/imports", files={"file": ("o.csv", content, "text/csv")}, data={"import_mode": "PARTIAL_UPDATE"}
    )
    assert raw.status_code == 429
    assert raw.headers["retry-after"] == "60"
    world.client.import_offers(content)  # waits the minute out on the sandbox clock
    assert (world.clock.now() - START).total_seconds() >= 60
    impatient = World(max_wait=5, rate_limits={"OF01": (1 / 60, 1.0)})
    impatient.client.import_offers(content)
    with pytest.raises(MiraklThrottled):
        impatient.client.import_offers(content)


def test_a_wrong_key_and_replace_mode_are_refused() -> None:
    world = World()
    bad = MiraklClient(MiraklConfig(BASE, "stolen"), transport=world.sandbox.transport())
    with pytest.raises(MiraklRejected) as caught:
        bad.import_status(1)
    assert caught.value.status == 401
    content = mapper.offers_csv([mapper.OfferStock("OVS-001-NVY-M", 1)])
    refused = world.raw.post(
        "/api/offers/imports", files={"file": ("o.csv", content, "text/csv")}, data={"import_mode": "REPLACE"}
    )
    assert refused.status_code == 400


# ---------------------------------------------------------------------- orders and shipments
def _put(world: World, path: str, body: Any = None) -> httpx.Response:
    return world.client._http.put(path, json=body)


def test_or11_pages_by_offset_and_refuses_a_page_over_100() -> None:
    world = World()
    for n in range(3):
        world.sandbox.add_order(f"O-{n}-A", [("OVS-001-NVY-M", 1, Decimal("89.00"))])
    first, total = world.client.list_orders(offset=0, max_results=2)
    second, _ = world.client.list_orders(offset=2, max_results=2)
    assert total == 3
    assert [o["order_id"] for o in first + second] == ["O-0-A", "O-1-A", "O-2-A"]
    assert first[0]["order_lines"][0]["order_line_state"] == "WAITING_ACCEPTANCE"
    with pytest.raises(MiraklRejected, match="max must be between 1 and 100"):
        world.client.list_orders(max_results=101)


def test_or21_must_answer_every_line_and_only_while_waiting_for_acceptance() -> None:
    world = World()
    world.sandbox.add_order("O-1-A", [("OVS-001-NVY-M", 1, Decimal("89.00")), ("X", 1, Decimal("5.00"))])
    answer = _put(world, "/api/orders/O-1-A/accept", {"order_lines": [{"id": "O-1-A-1", "accepted": True}]})
    assert answer.status_code == 400
    assert answer.json() == {
        "status": 400,
        "message": "Every order line must be accepted or refused; missing: O-1-A-2",
    }
    world.client.accept_lines("O-1-A", [("O-1-A-1", True), ("O-1-A-2", False)])
    order = world.sandbox.order("O-1-A")
    assert (order.state, [line.state for line in order.lines]) == ("SHIPPING", ["SHIPPING", "REFUSED"])
    with pytest.raises(MiraklRejected, match="not WAITING_ACCEPTANCE"):
        world.client.accept_lines("O-1-A", [("O-1-A-1", True), ("O-1-A-2", False)])


def test_an_order_not_answered_within_the_acceptance_window_is_refused_by_the_platform() -> None:
    world = World(acceptance_window_seconds=3600)
    world.sandbox.add_order("O-1-A", [("OVS-001-NVY-M", 1, Decimal("89.00"))])
    world.clock.advance(3600)
    assert world.sandbox.order("O-1-A").state == "REFUSED"
    with pytest.raises(MiraklRejected, match="REFUSED"):
        world.client.accept_lines("O-1-A", [("O-1-A-1", True)])


def test_st01_ships_part_of_a_line_and_answers_each_shipment_alone_partial_success() -> None:
    world = World()
    world.sandbox.add_order("O-1-A", [("OVS-001-NVY-M", 3, Decimal("89.00"))])
    world.client.accept_lines("O-1-A", [("O-1-A-1", True)])
    good = {"order_id": "O-1-A", "shipment_lines": [{"order_line_id": "O-1-A-1", "quantity": 2}], "shipped": True}
    too_many = {**good, "shipment_lines": [{"order_line_id": "O-1-A-1", "quantity": 2}]}
    success, errors = world.client.create_shipments([good, too_many])
    assert len(success) == 1
    assert errors == [{"order_id": "O-1-A", "message": "Order line O-1-A-1: more units shipped than ordered (3)"}]
    order = world.sandbox.order("O-1-A")
    assert (order.state, order.lines[0].shipped) == ("SHIPPING", 2)
    world.client.create_shipments([{**good, "shipment_lines": [{"order_line_id": "O-1-A-1", "quantity": 1}]}])
    assert world.sandbox.order("O-1-A").state == "SHIPPED"


def test_or23_needs_a_carrier_or24_ships_the_rest_and_or28_refunds_only_shipped_units() -> None:
    world = World()
    world.sandbox.add_order("O-1-A", [("OVS-001-NVY-M", 2, Decimal("89.00"))])
    world.client.accept_lines("O-1-A", [("O-1-A-1", True)])
    refund = {"order_line_id": "O-1-A-1", "quantity": 1, "amount": "89.00", "shipping_amount": 0, "reason_code": "17"}
    with pytest.raises(MiraklRejected, match="0 shipped and not refunded"):
        world.client.refund([refund])
    with pytest.raises(MiraklRejected, match="carrier_code"):
        world.client.update_tracking("O-1-A", {"tracking_number": "123"})
    world.client.update_tracking("O-1-A", {"carrier_name": "Hermes", "tracking_number": "123"})
    world.client.ship_order("O-1-A")
    assert world.sandbox.order("O-1-A").as_json()["shipping_tracking"] == "123"
    world.client.refund([refund])
    assert world.sandbox.order("O-1-A").as_json()["order_lines"][0]["refunds"][0]["quantity"] == 1
    with pytest.raises(MiraklRejected, match="cannot be cancelled"):
        world.client.cancel_order("O-1-A")


def test_order_endpoints_have_their_own_rate_limit_answered_429_with_retry_after() -> None:
    world = World(max_wait=0.0)
    for _ in range(10):
        world.client.list_orders()
    with pytest.raises(MiraklThrottled):
        world.client.list_orders()


def taxed_order(world: World) -> None:
    world.sandbox.add_order(
        "O-9-A",
        [("OVS-001-NVY-M", 2, Decimal("89.00")), ("OVS-001-NVY-L", 1, Decimal("79.00"))],
        tax_rate=Decimal("0.19"),
        shipping={1: Decimal("4.95")},
    )
    world.client.accept_lines("O-9-A", [("O-9-A-1", True), ("O-9-A-2", True)])


def cancel(line_id: str, qty: int, amount: str, taxes: str | None, reason: str = "35") -> dict[str, Any]:
    item: dict[str, Any] = {
        "order_line_id": line_id,
        "quantity": qty,
        "amount": amount,
        "shipping_amount": "0",
        "reason_code": reason,
    }
    if taxes is not None:
        item["taxes"] = [{"code": "VAT19", "amount": taxes}]
    return item


def test_or11_shows_the_orders_money_in_the_tax_mode_asked_for() -> None:
    world = World()
    taxed_order(world)
    included = world.raw.get("/api/orders", params={"order_tax_mode": "TAX_INCLUDED"}).json()["orders"][0]
    excluded = world.raw.get("/api/orders", params={"order_tax_mode": "TAX_EXCLUDED"}).json()["orders"][0]
    assert (included["total_price"], included["order_lines"][0]["taxes"][0]["amount"]) == (261.95, 28.42)
    # Without tax: 178.00 - 28.42, 4.95 - 0.79, 79.00 - 12.61; the buyer pays the taxes on top.
    assert (excluded["order_tax_mode"], excluded["total_price"]) == ("TAX_EXCLUDED", 220.13)
    taxes = sum(t["amount"] for ln in excluded["order_lines"] for t in [*ln["taxes"], *ln["shipping_taxes"]])
    assert round(excluded["total_price"] + taxes, 2) == included["total_price"]
    assert world.raw.get("/api/orders", params={"order_tax_mode": "GROSS"}).status_code == 400


def test_or30_cancels_units_not_shipped_within_what_the_line_holds_with_its_taxes_and_a_cancel_reason() -> None:
    world = World()
    taxed_order(world)
    assert {r["code"]: r["type"] for r in world.client.reasons()}["35"] == "CANCELATION"
    with pytest.raises(MiraklRejected, match="CANCELATION reasons"):
        world.client.cancel_lines([cancel("O-9-A-2", 1, "79.00", "12.61", reason="17")])
    with pytest.raises(MiraklRejected, match="taxes is required"):
        world.client.cancel_lines([cancel("O-9-A-2", 1, "79.00", None)])
    with pytest.raises(MiraklRejected, match="more than the 79.00 left"):
        world.client.cancel_lines([cancel("O-9-A-2", 1, "80.00", "12.61")])
    with pytest.raises(MiraklRejected, match="2 to cancel but 1 not shipped"):
        world.client.cancel_lines([cancel("O-9-A-2", 2, "79.00", "12.61")])
    world.client.create_shipments(
        [{"order_id": "O-9-A", "shipment_lines": [{"order_line_id": "O-9-A-1", "quantity": 2}], "shipped": True}]
    )
    with pytest.raises(MiraklRejected, match="only units not shipped"):
        world.client.cancel_lines([cancel("O-9-A-1", 1, "89.00", "14.21")])
    [created] = world.client.cancel_lines([cancel("O-9-A-2", 1, "79.00", "12.61")])
    assert (created["quantity"], created["amount"], created["reason_code"]) == (1, 79.0, "35")
    order = world.sandbox.order("O-9-A").as_json()
    assert [ln["order_line_state"] for ln in order["order_lines"]] == ["SHIPPED", "CANCELED"]
    assert order["order_state"] == "SHIPPED", "every unit shipped or cancelled"
    assert order["order_lines"][1]["cancelations"][0]["taxes"] == [{"code": "VAT19", "amount": 12.61}]


def test_or28_refunds_at_most_what_was_paid_with_its_taxes_and_a_refund_reason() -> None:
    world = World()
    taxed_order(world)
    world.client.create_shipments(
        [{"order_id": "O-9-A", "shipment_lines": [{"order_line_id": "O-9-A-1", "quantity": 2}], "shipped": True}]
    )
    refund = cancel("O-9-A-1", 1, "89.00", "14.21", reason="17")
    with pytest.raises(MiraklRejected, match="REFUND reasons"):
        world.client.refund([{**refund, "reason_code": "35"}])
    with pytest.raises(MiraklRejected, match="shipping_taxes is required"):
        world.client.refund([{**refund, "shipping_amount": "4.95"}])
    with pytest.raises(MiraklRejected, match="shipping_amount is more than"):
        world.client.refund(
            [{**refund, "shipping_amount": "5.00", "shipping_taxes": [{"code": "VAT19", "amount": "0.79"}]}]
        )
    world.client.refund([refund])
    with pytest.raises(MiraklRejected, match="amount 90.00 is more than the 89.00 left"):
        world.client.refund([{**refund, "amount": "90.00"}])
    with pytest.raises(MiraklRejected, match="more tax than the line has left"):
        world.client.refund([{**refund, "taxes": [{"code": "VAT19", "amount": "14.22"}]}])
    shipping = {"shipping_amount": "4.95", "shipping_taxes": [{"code": "VAT19", "amount": "0.80"}]}
    with pytest.raises(MiraklRejected, match="more shipping tax than the line has left"):
        world.client.refund([{**refund, **shipping}])
    world.client.refund([refund])
    assert [r["amount"] for r in world.sandbox.order("O-9-A").as_json()["order_lines"][0]["refunds"]] == [89.0, 89.0]


PRODUCT_HEADER = (
    "sku;product-id;product-id-type;price;quantity;state;update-delete;"
    "category;title;description;brand;main_image;color;size"
)


def test_of01_with_products_checks_each_row_against_the_operators_model_and_lists_the_others() -> None:
    world = World()
    assert "H-SHIRTS" in {h["code"] for h in world.client.hierarchies()}
    assert {a["code"] for a in world.client.attributes() if a["required"]} >= {"category", "title", "main_image"}
    good = "A-M;A-M;SHOP_SKU;89.00;3;11;update;H-SHIRTS;Shirt;Twill;Brand;https://cdn.example.com/a.jpg;Navy;M"
    no_title = "A-L;A-L;SHOP_SKU;89.00;3;11;update;H-SHIRTS;;Twill;Brand;https://cdn.example.com/a.jpg;Navy;L"
    bad_category = "B-M;B-M;SHOP_SKU;59.00;1;11;update;H-KNIT;Knit;Wool;Brand;https://cdn.example.com/b.jpg;Grey;M"
    content = "\n".join([PRODUCT_HEADER, good, no_title, bad_category]).encode()
    import_id = world.client.import_offers(content, with_products=True, mode="NORMAL")
    world.sandbox.complete_imports()
    status = world.client.import_status(import_id)
    assert (status.status, status.lines_in_success, status.lines_in_error) == ("COMPLETE", 1, 2)
    errors = {e.shop_sku: e.message for e in world.client.error_report(import_id)}
    assert errors == {
        "A-L": "The attribute 'title' (Title) is required.",
        "B-M": "The category 'H-KNIT' does not exist in the operator's catalog (H11).",
    }
    assert world.sandbox.product("A-M") is not None
    assert world.sandbox.product("A-M")["category"] == "H-SHIRTS"  # type: ignore[index]
    offer = world.sandbox.offer("A-M")
    assert offer is not None
    assert (offer.price, offer.quantity, offer.product_id_type) == (Decimal("89.00"), 3, "SHOP_SKU")
    assert world.sandbox.offer("A-L") is None
    unknown = (PRODUCT_HEADER + ";fabric_weight\n" + good + ";200").encode()
    with pytest.raises(MiraklRejected, match="fabric_weight"):
        world.client.import_offers(unknown, with_products=True, mode="NORMAL")
