"""Square webhooks on ``tests/fixtures/pos``: the signature over notification URL + raw body, the envelope,
``order.updated`` and ``inventory.count.updated`` (quantities are strings; a sale reports both states),
completed orders as till sales, and the catalog push."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.square import inbound, mapper
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "pos"
URL = "https://seamline.example/webhooks/square/soho"
KEY = "sig-key-1"


def raw(name: str) -> bytes:
    return (FIXTURES / f"square_{name}.json").read_bytes()


def signed(body: bytes, key: str = KEY, url: str = URL) -> dict[str, str]:
    return {"X-Square-HmacSha256-Signature": inbound.compute_signature(key, url, body)}


def test_order_updated_fixture_is_a_versioned_notification_of_an_open_order() -> None:
    body = raw("order_updated")
    event = inbound.verify(body, signed(body), [KEY], URL)
    assert (event.type, event.event_id, event.merchant_id) == (
        "order.updated",
        "4b8e5c91-9f17-4cf1-900a-4a0629f81add",
        "5S9MXCS9Y99KK",
    )
    update = mapper.map_order_updated(event)
    assert (update.order_id, update.location_id, update.state, update.version) == (
        "eA3vssLHKJrv9H0IdJCM3gNqfdcZY",
        "FPYCBCHYMXFK1",
        "OPEN",
        2,
    )
    assert not update.completed
    assert update.updated_at == datetime(2020, 4, 16, 23, 14, 26, 359000, tzinfo=UTC)
    message = inbound.inbound_message(event, body, signed(body), channel="soho")
    assert (message.source, message.external_id, message.aggregate_key, message.aggregate_version) == (
        "square:soho",
        event.event_id,
        "order:eA3vssLHKJrv9H0IdJCM3gNqfdcZY",
        2,
    )
    assert "x-square-hmacsha256-signature" not in message.headers


def test_inventory_count_fixture_gives_a_whole_quantity_from_its_string_and_nanosecond_times() -> None:
    body = raw("inventory_count_updated")
    event = inbound.verify(body, signed(body), [KEY], URL)
    assert event.created_at == datetime(2020, 12, 29, 18, 38, 45, 455006, tzinfo=UTC)
    [count] = mapper.map_inventory_count_updated(event)
    assert (count.catalog_object_id, count.location_id, count.state, count.quantity) == (
        "6F4K33KPNUVDWKZ43KUIFH6K",
        "EF6D9SACKWBKZ",
        "IN_STOCK",
        90,
    )
    message = inbound.inbound_message(event, body, signed(body), channel="soho")
    assert message.aggregate_key == "count:6F4K33KPNUVDWKZ43KUIFH6K@EF6D9SACKWBKZ"


def test_a_state_change_sends_both_sides_and_only_in_stock_is_stock() -> None:
    payload = json.loads(raw("inventory_count_updated"))
    sold = copy.deepcopy(payload["data"]["object"]["inventory_counts"][0])
    sold.update(state="SOLD", quantity="1")
    payload["data"]["object"]["inventory_counts"][0]["quantity"] = "89"
    payload["data"]["object"]["inventory_counts"].append(sold)
    counts = mapper.map_inventory_count_updated(mapper.read_event(payload))
    assert [(c.state, c.quantity) for c in counts] == [("IN_STOCK", 89), ("SOLD", 1)]
    assert mapper.in_stock(counts) == {("6F4K33KPNUVDWKZ43KUIFH6K", "EF6D9SACKWBKZ"): 89}


@pytest.mark.parametrize(("text", "units"), [("90", 90), ("1.00000", 1), ("0", 0), ("-3", -3)])
def test_quantities_are_decimal_strings_of_whole_units(text: str, units: int) -> None:
    assert mapper.parse_quantity(text) == units


@pytest.mark.parametrize("value", ["2.5", "NaN", "ninety", 90, None])
def test_fractional_or_non_string_quantities_are_refused(value: Any) -> None:
    with pytest.raises(mapper.SquareMappingError):
        mapper.parse_quantity(value)


def test_the_signature_covers_the_notification_url_and_the_raw_body() -> None:
    body = raw("order_updated")
    with pytest.raises(inbound.WebhookRejected) as caught:
        inbound.verify(body + b" ", signed(body), [KEY], URL)
    assert caught.value.status == 401
    with pytest.raises(inbound.WebhookRejected):
        inbound.verify(body, signed(body, url=URL + "?x=1"), [KEY], URL)
    with pytest.raises(inbound.WebhookRejected):
        inbound.verify(body, {"x-square-hmacsha256-signature": "not base64!"}, [KEY], URL)
    with pytest.raises(inbound.WebhookRejected):
        inbound.verify(body, {}, [KEY], URL)
    assert inbound.verify(body, signed(body, key="old-key"), ["new-key", "old-key"], URL).type == "order.updated"


def order(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "sq-order-1",
        "location_id": "EF6D9SACKWBKZ",
        "state": "COMPLETED",
        "version": 4,
        "closed_at": "2026-11-27T10:15:00.123456789Z",
        "line_items": [
            {"catalog_object_id": "VAR-M", "quantity": "3", "total_money": {"amount": 25000, "currency": "EUR"}}
        ],
        "tenders": [
            {
                "type": "CARD",
                "amount_money": {"amount": 25200, "currency": "EUR"},
                "tip_money": {"amount": 200, "currency": "EUR"},
            }
        ],
    }
    return {**base, **overrides}


LOOKUPS = mapper.SquareLookups({"VAR-M": "OVS-001-NVY-M"}, {"EF6D9SACKWBKZ": "STORE-1"})


def test_a_completed_order_is_a_till_sale_whose_lines_add_up_to_what_the_till_took() -> None:
    sale = mapper.map_order(order(), LOOKUPS)
    assert [(li.sku, li.qty, li.unit_price) for li in sale.lines] == [
        ("OVS-001-NVY-M", 2, Decimal("83.33")),
        ("OVS-001-NVY-M", 1, Decimal("83.34")),
    ]
    assert sale.tenders == (("card", Decimal("250.00")),), "the tip is not a sale"
    body = sale.sale_body()
    assert (body["location"], body["external_id"], body["force"]) == ("STORE-1", "sq-order-1", True)
    assert body["occurred_at"] == "2026-11-27T10:15:00.123456+00:00"


def test_a_square_gift_card_tender_is_a_gift_card_tender_naming_only_its_last_digits_and_payment() -> None:
    """Orders API ``Tender`` of type ``SQUARE_GIFT_CARD``: ``card_details.card`` has ``last_4`` (never the GAN),
    ``payment_id`` the payment; both are kept to show a person, by the tender's index."""
    tenders = [
        {
            "type": "SQUARE_GIFT_CARD",
            "amount_money": {"amount": 10000, "currency": "EUR"},
            "card_details": {"status": "CAPTURED", "card": {"card_brand": "SQUARE_GIFT_CARD", "last_4": "7731"}},
            "payment_id": "pay-42",
        },
        {"type": "CASH", "amount_money": {"amount": 15000, "currency": "EUR"}},
        {"type": "SQUARE_GIFT_CARD", "amount_money": {"amount": 0, "currency": "EUR"}},
    ]
    sale = mapper.map_order(order(tenders=tenders), LOOKUPS)
    assert sale.till_tenders == (("gift_card", Decimal("100.00")), ("cash", Decimal("150.00")), ("gift_card", 0))
    assert sale.gift_card_refs == {0: "Square gift card …7731, payment pay-42", 2: "a Square gift card"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"state": "OPEN"}, "not COMPLETED"),
        ({"location_id": "ELSEWHERE"}, "not linked"),
        (
            {
                "line_items": [
                    {"catalog_object_id": "VAR-X", "quantity": "1", "total_money": {"amount": 1, "currency": "EUR"}}
                ]
            },
            "not a published SKU",
        ),
        ({"tenders": [{"type": "CASH", "amount_money": {"amount": 100, "currency": "EUR"}}]}, "tenders"),
    ],
)
def test_an_order_that_cannot_be_booked_says_why(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(mapper.SquareMappingError, match=message):
        mapper.map_order(order(**overrides), LOOKUPS)


STYLE = Style(
    "OVS-001",
    "Navy overshirt",
    "SS27",
    "shirts",
    ("M", "L"),
    (Colour("NVY", "Navy"),),
    (Variant("OVS-001-NVY-M", "NVY", "M", "05012345678900"), Variant("OVS-001-NVY-L", "NVY", "L", None)),
    prices=(Price("retail", "EUR", Decimal("89.00")),),
)


def test_the_catalog_push_is_one_item_with_a_priced_variation_per_sku() -> None:
    body = mapper.catalog_upsert_body(STYLE, currency="EUR", idempotency_key="style-OVS-001-v1")
    [item] = body["batches"][0]["objects"]
    assert (item["type"], item["id"], item["item_data"]["name"]) == ("ITEM", "#OVS-001", "Navy overshirt")
    first, second = item["item_data"]["variations"]
    assert first["item_variation_data"] == {
        "item_id": "#OVS-001",
        "name": "Navy / M",
        "sku": "OVS-001-NVY-M",
        "pricing_type": "FIXED_PRICING",
        "price_money": {"amount": 8900, "currency": "EUR"},
        "upc": "5012345678900",
    }
    assert "upc" not in second["item_variation_data"]
    with pytest.raises(mapper.SquareMappingError):
        mapper.catalog_upsert_body(STYLE, currency="USD", idempotency_key="k")


def test_gift_cards_custom_amounts_and_service_charges_are_kept_beside_the_stock_sale() -> None:
    lines = [
        {"uid": "a", "catalog_object_id": "VAR-M", "quantity": "1", "total_money": {"amount": 8900, "currency": "EUR"}},
        {
            "uid": "gc",
            "item_type": "GIFT_CARD",
            "name": "Gift Card",
            "quantity": "1",
            "total_money": {"amount": 5000, "currency": "EUR"},
        },
        {"uid": "alt", "name": "Hemming", "quantity": "1", "total_money": {"amount": 1200, "currency": "EUR"}},
    ]
    charges = [{"uid": "sc", "name": "Gift wrap", "total_money": {"amount": 300, "currency": "EUR"}}]
    tenders = [
        {"type": "CASH", "amount_money": {"amount": 4000, "currency": "EUR"}},
        {"type": "CARD", "amount_money": {"amount": 11400, "currency": "EUR"}},
    ]
    sale = mapper.map_order(order(line_items=lines, service_charges=charges, tenders=tenders), LOOKUPS)
    assert [(li.sku, li.qty, li.unit_price) for li in sale.lines] == [("OVS-001-NVY-M", 1, Decimal("89.00"))]
    assert [(o.uid, o.kind, o.name, o.amount) for o in sale.other_lines] == [
        ("gc", mapper.GIFT_CARD, "Gift Card", Decimal("50.00")),
        ("alt", mapper.CUSTOM_AMOUNT, "Hemming", Decimal("12.00")),
        ("sc", mapper.SERVICE_CHARGE, "Gift wrap", Decimal("3.00")),
    ]
    # The goods are paid by the tenders in the order the till took them; the rest paid the other lines.
    assert sale.tenders == (("cash", Decimal("40.00")), ("card", Decimal("49.00")))
    assert sale.till_tenders == (("cash", Decimal("40.00")), ("card", Decimal("114.00")))
    goods = sum((li.qty * li.unit_price for li in sale.lines), Decimal(0))
    assert goods + sum(o.amount for o in sale.other_lines) == sum(a for _, a in sale.till_tenders)
    assert sum(a for _, a in sale.tenders) == goods
    assert sale.commerce is None, "no tax lines from Square: the goods are taxed by our chart, the rest beside"


def test_a_negative_cash_rounding_shows_as_a_rounding_tender_on_the_sale() -> None:
    lines = [{"catalog_object_id": "VAR-M", "quantity": "1", "total_money": {"amount": 8902, "currency": "EUR"}}]
    rounding = {"uid": "r", "name": "Cash rounding", "amount_money": {"amount": -2, "currency": "EUR"}}
    tenders = [{"type": "CASH", "amount_money": {"amount": 8900, "currency": "EUR"}}]
    sale = mapper.map_order(order(line_items=lines, rounding_adjustment=rounding, tenders=tenders), LOOKUPS)
    assert [(o.kind, o.amount) for o in sale.other_lines] == [(mapper.ROUNDING, Decimal("-0.02"))]
    assert sale.tenders == (("cash", Decimal("89.00")), ("rounding", Decimal("0.02")))
    assert sale.sale_body()["tenders"] == [{"type": "cash", "amount": "89.00"}, {"type": "rounding", "amount": "0.02"}]


def test_an_order_selling_only_a_gift_card_has_no_stock_sale_but_keeps_its_amount() -> None:
    lines = [{"item_type": "GIFT_CARD", "quantity": "1", "total_money": {"amount": 2500, "currency": "EUR"}}]
    tenders = [{"type": "CARD", "amount_money": {"amount": 2500, "currency": "EUR"}}]
    sale = mapper.map_order(order(line_items=lines, tenders=tenders), LOOKUPS)
    assert (sale.lines, sale.tenders) == ((), ())
    assert [(o.uid, o.kind, o.amount) for o in sale.other_lines] == [
        ("line_items[0]", mapper.GIFT_CARD, Decimal("25.00"))
    ]


def test_other_lines_that_the_tenders_do_not_cover_still_refuse_the_order() -> None:
    lines = [
        {"catalog_object_id": "VAR-M", "quantity": "1", "total_money": {"amount": 8900, "currency": "EUR"}},
        {"item_type": "CUSTOM_AMOUNT", "quantity": "1", "total_money": {"amount": 100, "currency": "EUR"}},
    ]
    tenders = [{"type": "CARD", "amount_money": {"amount": 8900, "currency": "EUR"}}]
    with pytest.raises(mapper.SquareMappingError, match="other lines 1.00, tenders 89.00"):
        mapper.map_order(order(line_items=lines, tenders=tenders), LOOKUPS)


def test_split_tenders_takes_the_goods_from_the_first_tenders() -> None:
    tenders = [("gift_card", Decimal("10.00")), ("card", Decimal("30.00"))]
    assert mapper.split_tenders(tenders, Decimal("25.00")) == (
        ("gift_card", Decimal("10.00")),
        ("card", Decimal("15.00")),
    )
    assert mapper.split_tenders(tenders, Decimal("40.00")) == tuple(tenders)


def test_a_square_sale_with_its_taxes_and_discount_keeps_squares_numbers_and_its_receipt_equals_them() -> None:
    """Orders API shape: ``taxes`` (percentage, INCLUSIVE), ``discounts``, and per line ``base_price_money``,
    ``applied_taxes``/``applied_discounts`` with their ``applied_money``; ``total_tip_money`` is not a sale."""
    from seamline.finance import FinanceConfig, TaxCode
    from seamline.finance.channel import invoice_lines

    eur = {"currency": "EUR"}
    body = order(
        line_items=[
            {
                "uid": "li-1",
                "catalog_object_id": "VAR-M",
                "quantity": "3",
                "name": "Overshirt navy M",
                "base_price_money": {"amount": 8900, **eur},
                "applied_discounts": [{"discount_uid": "d-1", "applied_money": {"amount": 1700, **eur}}],
                "applied_taxes": [{"tax_uid": "vat", "applied_money": {"amount": 4167, **eur}}],
                "total_discount_money": {"amount": 1700, **eur},
                "total_tax_money": {"amount": 4167, **eur},
                "total_money": {"amount": 25000, **eur},
            }
        ],
        taxes=[{"uid": "vat", "name": "VAT", "percentage": "20", "type": "INCLUSIVE", "scope": "ORDER"}],
        discounts=[{"uid": "d-1", "name": "Staff 17", "type": "FIXED_AMOUNT", "scope": "ORDER"}],
        total_money={"amount": 25200, **eur},
        total_tip_money={"amount": 200, **eur},
    )
    sale = mapper.map_order(body, LOOKUPS)
    commerce = sale.commerce
    assert commerce is not None
    assert commerce.channel_total == Decimal("250.00")  # 252.00 taken, 2.00 of it a tip
    assert commerce.taxes_included
    assert commerce.computed_total == Decimal("250.00")
    [line] = commerce.lines
    assert (line.unit_price, line.discount, line.tax, line.discounts[0].source) == (
        Decimal("89.00"),
        Decimal("17.00"),
        Decimal("41.67"),
        "Staff 17",
    )
    config = FinanceConfig(tax_codes={"VAT20": TaxCode("VAT20", Decimal("0.2"), "VAT")}, default_tax_code="VAT20")
    receipt = invoice_lines(commerce, "EUR", config, {1: 3}, {}, first=True)
    assert receipt.total == Decimal("250.00")
    assert receipt.lines[0].tax == Decimal("41.67")  # Square's tax, not ours recomputed


def test_a_square_sale_without_tax_lines_says_so_and_is_taxed_by_our_chart() -> None:
    sale = mapper.map_order(order(), LOOKUPS)
    assert sale.commerce is not None
    assert sale.commerce.channel_totals["has_taxes"] == "false"
    assert sale.commerce.computed_total == Decimal("250.00")


def test_custom_amounts_service_charges_and_rounding_are_commerce_lines_adding_up_to_squares_total() -> None:
    """Orders API shape: a keyed-in line has no ``catalog_object_id``; a service charge carries ``total_money``
    and ``applied_taxes``; ``rounding_adjustment.amount_money`` is signed; ``total_money`` includes them all."""
    from seamline.finance import FinanceConfig, TaxCode
    from seamline.finance.channel import invoice_lines

    eur = {"currency": "EUR"}
    vat = [{"uid": "vat", "name": "VAT", "percentage": "20", "type": "INCLUSIVE", "scope": "ORDER"}]

    def taxed(amount: int, tax: int) -> dict[str, Any]:
        return {
            "applied_taxes": [{"tax_uid": "vat", "applied_money": {"amount": tax, **eur}}],
            "total_tax_money": {"amount": tax, **eur},
            "total_money": {"amount": amount, **eur},
        }

    body = order(
        line_items=[
            {"uid": "a", "catalog_object_id": "VAR-M", "quantity": "3", **taxed(25000, 4167)},
            {"uid": "c", "item_type": "CUSTOM_AMOUNT", "name": "Hemming", "quantity": "1", **taxed(1200, 200)},
            {
                "uid": "g",
                "item_type": "GIFT_CARD",
                "name": "Gift Card",
                "quantity": "1",
                "total_money": {"amount": 500, **eur},
            },
        ],
        service_charges=[{"uid": "s", "name": "Gift wrap", **taxed(300, 50)}],
        rounding_adjustment={"uid": "r", "name": "Cash rounding", "amount_money": {"amount": -2, **eur}},
        taxes=vat,
        tenders=[{"type": "CASH", "amount_money": {"amount": 26998, **eur}}],
        total_money={"amount": 26998, **eur},
    )
    sale = mapper.map_order(body, LOOKUPS)
    commerce = sale.commerce
    assert commerce is not None
    assert [(li.kind, li.order_line_no, li.unit_price, li.tax) for li in commerce.lines] == [
        ("goods", 1, Decimal("250.00") / 3, Decimal("41.67")),
        ("custom", None, Decimal("12.00"), Decimal("2.00")),
        ("gift_card", None, Decimal("5.00"), Decimal(0)),
        ("service_charge", None, Decimal("3.00"), Decimal("0.50")),
        ("rounding", None, Decimal("-0.02"), Decimal(0)),
    ]
    assert commerce.channel_total == commerce.computed_total == Decimal("269.98")
    assert commerce.payments[0].amount == Decimal("269.98"), "paid by all the till took"
    config = FinanceConfig(
        tax_codes={"VAT20": TaxCode("VAT20", Decimal("0.2"), "VAT"), "ZERO": TaxCode("ZERO", Decimal(0), "zero")},
        default_tax_code="VAT20",
    )
    # A gift card is a liability: it is on the receipt as ``gift_card``, untaxed, and finance books it to the
    # gift card clearing, not revenue (issue 17).
    receipt = invoice_lines(commerce, "EUR", config, {1: 3}, {}, first=True)
    assert receipt.total == Decimal("269.98")
    assert [(li.sku, li.gross, li.tax) for li in receipt.lines] == [
        ("OVS-001-NVY-M", Decimal("250.00"), Decimal("41.67")),
        ("custom", Decimal("12.00"), Decimal("2.00")),
        ("gift_card", Decimal("5.00"), Decimal(0)),
        ("service_charge", Decimal("3.00"), Decimal("0.50")),
        ("rounding", Decimal("-0.02"), Decimal(0)),
    ]
