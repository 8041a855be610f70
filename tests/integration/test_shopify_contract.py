"""The Shopify connector's contract: the mapper on Shopify's own sample payloads (signed here, verified by
``inbound``), and the client against the sandbox shop through ``httpx.MockTransport``."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels.canonical import (
    AvailabilityPush,
    InboundOrder,
    OrderMapping,
    OrderVerdict,
    RefundMapping,
    RefundVerdict,
    RestockType,
    SkipReason,
    Tracking,
)
from seamline.channels.shopify import inbound, mapper
from seamline.channels.shopify.client import (
    Drift,
    ShopifyClient,
    ShopifyConfig,
    ShopifyOnHold,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from seamline.channels.shopify.inbound import WebhookRejected
from seamline.channels.shopify.mapper import ShopifyLookups
from seamline.domain.clock import FixedClock
from seamline.sandbox.shopify import SandboxConfig, ShopifySandbox, WebhookSender, gid, sign
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "shopify"
TOPICS = {
    "orders_create.json": "orders/create",
    "refunds_create.json": "refunds/create",
    "products_update.json": "products/update",
    "inventory_levels_update.json": "inventory_levels/update",
}
SECRET = "shpss_current_secret_0123456789"
OLD_SECRET = "shpss_previous_secret_9876543210"
SHOP = "seamline-sandbox.myshopify.com"
START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FIXTURE_SKUS = frozenset({"SKU2006-001", "SKU2006-020", "SKU2006-035"})


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signed_headers(
    body: bytes, topic: str, secret: str = SECRET, webhook_id: str = "b54557e4-bdd9-4b37-8a5f"
) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-11-27T08:00:01.123456Z",
        "X-Shopify-API-Version": "2026-07",
    }


# -- the mapper on Shopify's samples ------------------------------------------------------------------


def test_every_shopify_fixture_has_a_topic_and_parses_through_inbound() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == set(TOPICS), "a new fixture needs its topic here"
    for name, topic in TOPICS.items():
        body = fixture_bytes(name)
        headers = inbound.verify(body, signed_headers(body, topic), [SECRET])
        assert headers.topic == topic
        assert inbound.parse(headers.topic, body, ShopifyLookups(known_skus=FIXTURE_SKUS)) is not None


def test_orders_create_sample_maps_stock_lines_and_skips_custom_line_items() -> None:
    result = inbound.parse(
        "orders/create", fixture_bytes("orders_create.json"), ShopifyLookups(known_skus=FIXTURE_SKUS)
    )
    assert isinstance(result, OrderMapping)
    order = result.order
    assert order.external_id == "820982911946154508"
    assert order.currency == "USD"
    assert order.presentment_currency == "USD"
    assert [(line.sku, line.qty, line.unit_price) for line in result.stock_lines] == [
        ("SKU2006-001", 1, Decimal("89.99")),
        ("SKU2006-020", 1, Decimal("159.99")),
        ("SKU2006-035", 1, Decimal("119.99")),
    ]
    assert [(s.sku, s.reason) for s in result.skipped] == [
        ("LENS-PROTECT-2YR", SkipReason.CUSTOM_LINE_ITEM),
        ("CASE-LEATHER-PREM", SkipReason.CUSTOM_LINE_ITEM),
    ]
    assert order.has_custom_items
    assert not order.has_gift_cards
    assert order.customer is not None
    assert (order.customer.email, order.customer.name) == ("jon@example.com", "John Smith")
    assert order.placed_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert order.cancelled_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)


def test_the_sample_order_is_a_test_order_and_is_ignored_unless_the_channel_accepts_them() -> None:
    body = fixture_bytes("orders_create.json")
    ignored = inbound.parse("orders/create", body, ShopifyLookups(known_skus=FIXTURE_SKUS))
    accepted = inbound.parse("orders/create", body, ShopifyLookups(known_skus=FIXTURE_SKUS, accept_test_orders=True))
    assert isinstance(ignored, OrderMapping)
    assert isinstance(accepted, OrderMapping)
    assert ignored.order.test
    assert ignored.verdict is OrderVerdict.IGNORE_TEST_ORDER
    assert accepted.verdict is OrderVerdict.ACCEPT


def test_refunds_create_sample_restocks_nothing_because_every_line_is_no_restock() -> None:
    result = inbound.parse(
        "refunds/create", fixture_bytes("refunds_create.json"), ShopifyLookups(known_skus=FIXTURE_SKUS)
    )
    assert isinstance(result, RefundMapping)
    assert result.verdict is RefundVerdict.ACCEPT
    refund = result.refund
    assert (refund.external_id, refund.order_external_id) == ("890088186047892319", "820982911946154508")
    assert [(line.sku, line.qty, line.restock, line.subtotal) for line in refund.lines] == [
        ("SKU2006-001", 1, False, Decimal("89.99")),
        ("SKU2006-020", 1, False, Decimal("159.99")),
        ("SKU2006-035", 1, False, Decimal("119.99")),
    ]
    assert {s.reason for s in result.skipped} == {SkipReason.CUSTOM_LINE_ITEM}
    assert refund.currency == "USD"


@pytest.mark.parametrize("restock_type", ["return", "cancel"])
def test_a_returned_refund_line_restocks_at_the_mapped_location(restock_type: str) -> None:
    payload = json.loads(fixture_bytes("refunds_create.json"))
    payload["refund_line_items"][0].update(restock_type=restock_type, location_id=24826418)
    mapped = mapper.map_refund(payload, ShopifyLookups(known_skus=FIXTURE_SKUS, location_codes={"24826418": "WH"}))
    line = mapped.refund.lines[0]
    assert (line.restock, line.restock_type, line.location) == (True, RestockType(restock_type), "WH")
    assert mapped.verdict is RefundVerdict.ACCEPT


@pytest.mark.parametrize("line_type", [None, "legacy_restock"])
def test_a_legacy_refund_with_restock_true_restocks_its_lines_at_the_orders_location(line_type: str | None) -> None:
    payload = json.loads(fixture_bytes("refunds_create.json"))
    payload["restock"] = True
    payload["refund_line_items"][0].update(restock_type=line_type, location_id=None)
    mapped = mapper.map_refund(payload, ShopifyLookups(known_skus=FIXTURE_SKUS, location_codes={"24826418": "WH"}))
    line = mapped.refund.lines[0]
    assert (line.restock, line.restock_type, line.location) == (True, RestockType.LEGACY_RESTOCK, None)
    assert mapped.verdict is RefundVerdict.ACCEPT, "the handler books it at the order's location"


def test_a_refund_without_restock_type_or_legacy_restock_moves_no_stock() -> None:
    payload = json.loads(fixture_bytes("refunds_create.json"))
    assert payload["restock"] is False
    payload["refund_line_items"][0].pop("restock_type")
    mapped = mapper.map_refund(payload, ShopifyLookups(known_skus=FIXTURE_SKUS, location_codes={"24826418": "WH"}))
    assert mapped.refund.lines, "the fixture's refund has lines of SKUs we know"
    assert not any(line.restock for line in mapped.refund.lines)


def test_a_restock_at_an_unmapped_shopify_location_is_held() -> None:
    payload = json.loads(fixture_bytes("refunds_create.json"))
    payload["refund_line_items"][0].update(restock_type="return", location_id=99)
    mapped = mapper.map_refund(payload, ShopifyLookups(known_skus=FIXTURE_SKUS, location_codes={"24826418": "WH"}))
    assert mapped.verdict is RefundVerdict.HOLD_UNMAPPED_LOCATION
    assert "99" in mapped.detail


def test_inventory_levels_update_sample_reports_an_item_and_location_not_a_sku() -> None:
    report = inbound.parse("inventory_levels/update", fixture_bytes("inventory_levels_update.json"))
    assert report == mapper.InventoryLevelReport(
        "271878346596884015", "24826418", 10, datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    )


def test_products_update_sample_reports_variants_with_price_and_options() -> None:
    report = inbound.parse("products/update", fixture_bytes("products_update.json"))
    assert isinstance(report, mapper.ProductReport)
    assert report.product_id == "788032119674292922"
    assert [(v.variant_id, v.sku, v.barcode, v.price, v.options) for v in report.variants] == [
        ("642667041472713922", None, None, Decimal("19.99"), ("Small",)),
        ("757650484644203962", None, None, Decimal("19.99"), ("Medium",)),
    ]
    assert report.status == "active"


# -- signatures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TOPICS))
def test_a_signed_fixture_verifies_and_dedupes_on_shop_and_webhook_id(name: str) -> None:
    body = fixture_bytes(name)
    headers = inbound.verify(body, signed_headers(body, TOPICS[name]), [SECRET], shop_domain=SHOP)
    assert headers.dedupe_key == (SHOP, "b54557e4-bdd9-4b37-8a5f")
    assert headers.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert headers.triggered_at == datetime(2026, 11, 27, 8, 0, 1, 123456, tzinfo=UTC)


def test_a_body_changed_after_signing_is_rejected_with_401() -> None:
    body = fixture_bytes("orders_create.json")
    headers = signed_headers(body, "orders/create")
    with pytest.raises(WebhookRejected) as caught:
        inbound.verify(body.replace(b'"89.99"', b'"0.01"'), headers, [SECRET])
    assert caught.value.status == 401


@pytest.mark.parametrize("signature", [None, "", "not base64!", sign("someone-else", b"{}")])
def test_a_missing_or_wrong_signature_is_rejected_with_401(signature: str | None) -> None:
    body = fixture_bytes("inventory_levels_update.json")
    headers = signed_headers(body, "inventory_levels/update")
    if signature is None:
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers["X-Shopify-Hmac-Sha256"] = signature
    with pytest.raises(WebhookRejected) as caught:
        inbound.verify(body, headers, [SECRET])
    assert caught.value.status == 401


def test_during_a_rotation_deliveries_signed_with_the_old_or_new_secret_both_verify() -> None:
    body = fixture_bytes("products_update.json")
    for secret in (OLD_SECRET, SECRET):
        assert inbound.verify(body, signed_headers(body, "products/update", secret), [SECRET, OLD_SECRET])
    with pytest.raises(WebhookRejected):
        inbound.verify(body, signed_headers(body, "products/update", OLD_SECRET), [SECRET])


def test_a_delivery_signed_right_but_from_another_shop_is_rejected() -> None:
    body = fixture_bytes("inventory_levels_update.json")
    with pytest.raises(WebhookRejected) as caught:
        inbound.verify(
            body, signed_headers(body, "inventory_levels/update"), [SECRET], shop_domain="other.myshopify.com"
        )
    assert caught.value.status == 401


def test_a_signed_delivery_without_a_webhook_id_is_refused_as_unstorable() -> None:
    body = fixture_bytes("inventory_levels_update.json")
    headers = signed_headers(body, "inventory_levels/update")
    del headers["X-Shopify-Webhook-Id"]
    with pytest.raises(WebhookRejected) as caught:
        inbound.verify(body, headers, [SECRET])
    assert caught.value.status == 400


def test_deliveries_name_their_aggregate_and_version_so_shuffled_ones_apply_in_order() -> None:
    order = json.loads(fixture_bytes("orders_create.json"))
    refund = json.loads(fixture_bytes("refunds_create.json"))
    level = json.loads(fixture_bytes("inventory_levels_update.json"))
    newer = order | {"updated_at": "2022-01-01T00:00:01Z"}
    key, version = inbound.aggregate("orders/updated", order)
    assert (key, version) == ("order:820982911946154508", 1_640_995_200_000_000)
    assert inbound.aggregate("orders/updated", newer)[1] == version + 1_000_000
    # A refund is queued with its order, without a version; one that arrives first is held waiting for the
    # order's key, so it does not block the order's creation (tests/integration/test_shopify_inbound_holds.py).
    assert inbound.aggregate("refunds/create", refund) == ("order:820982911946154508", None)
    assert inbound.aggregate("inventory_levels/update", level)[0] == "level:271878346596884015@24826418"


def test_an_unknown_topic_has_no_parser() -> None:
    with pytest.raises(inbound.UnsupportedTopic):
        inbound.parse("carts/update", b"{}")


# -- the client against the sandbox -------------------------------------------------------------------


def gtin14(n: int) -> str:
    body = f"{n:013d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def make_style(
    code: str, colours: int = 1, sizes: tuple[str, ...] = ("S", "M", "L"), *, status: str = "active", seed: int = 0
) -> Style:
    palette = [Colour(f"C{i:02d}", f"Colour {i:02d}") for i in range(colours)]
    variants = tuple(
        Variant(f"{code}-{c.code}-{s}", c.code, s, gtin14(10_000_000 + seed * 1000 + i * 50 + j))
        for i, c in enumerate(palette)
        for j, s in enumerate(sizes)
    )
    return Style(
        code=code,
        name=f"Style {code}",
        season="SS27",
        category="Shirts",
        size_scale=sizes,
        colours=tuple(palette),
        variants=variants,
        prices=(Price("retail", "USD", Decimal("49.00")),),
        status=status,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def sandbox(clock: FixedClock) -> ShopifySandbox:
    shop = ShopifySandbox(SandboxConfig(shop_domain=SHOP), clock=clock)
    shop.add_location("Warehouse")
    return shop


@pytest.fixture
def location(sandbox: ShopifySandbox) -> str:
    return gid("Location", next(iter(sandbox.shop.locations)))


def make_client(sandbox: ShopifySandbox, clock: FixedClock, **config: Any) -> ShopifyClient:
    settings = ShopifyConfig("http://sandbox.test/admin/api/2026-07", sandbox.config.access_token, **config)
    return ShopifyClient(settings, transport=sandbox.transport(), clock=clock, sleep=clock.advance)


@pytest.fixture
def client(sandbox: ShopifySandbox, clock: FixedClock) -> ShopifyClient:
    return make_client(sandbox, clock)


def publish(client: ShopifyClient, style: Style) -> dict[str, str]:
    """SKU → inventory item gid, as the channel mapping would keep it."""
    published = client.publish_product(mapper.product_set_variables(style, currency="USD"))
    assert published.ok, published.user_errors
    return {v.sku or "": v.inventory_item_id for v in published.variants}


def shop_available(sandbox: ShopifySandbox, item: str, location: str) -> int | None:
    return sandbox.quantity(int(item.rsplit("/", 1)[1]), int(location.rsplit("/", 1)[1]))


def mutations(sandbox: ShopifySandbox) -> list[Any]:
    return [c for c in sandbox.calls if c.root_fields == ("inventorySetQuantities",)]


def test_a_compare_and_set_push_sets_available_with_reason_reference_and_key(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    item = publish(client, make_style("OVS-001"))["OVS-001-C00-M"]
    report = client.set_available(
        [AvailabilityPush(item, location, 7, previous=0, sku="OVS-001-C00-M")],
        reference_document_uri="seamline://events/ev-1",
        idempotency_key="delivery-1",
    )
    assert (len(report.applied), report.drift, report.rejected, report.calls) == (1, [], [], 1)
    assert shop_available(sandbox, item, location) == 7
    (call,) = mutations(sandbox)
    sent = call.variables["input"]
    assert (sent["name"], sent["reason"], sent["referenceDocumentUri"]) == (
        "available",
        "correction",
        "seamline://events/ev-1",
    )
    assert sent["quantities"] == [
        {"inventoryItemId": item, "locationId": location, "quantity": 7, "changeFromQuantity": 0}
    ]
    assert call.idempotency_key
    assert call.outcome == "ok"


def test_a_stale_push_reads_shopifys_number_reports_the_drift_and_retries_with_it(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    items = publish(client, make_style("OVS-002"))
    item, other = items["OVS-002-C00-S"], items["OVS-002-C00-M"]
    client.set_available(
        [AvailabilityPush(item, location, 4, 0), AvailabilityPush(other, location, 9, 0)],
        reference_document_uri="seamline://events/1",
    )
    sandbox.set_quantity(int(item.rsplit("/", 1)[1]), int(location.rsplit("/", 1)[1]), 6)  # a merchant's edit
    calls_before = len(sandbox.calls)

    report = client.set_available(
        [
            AvailabilityPush(item, location, 3, previous=4, sku="OVS-002-C00-S"),
            AvailabilityPush(other, location, 8, previous=9),
        ],
        reference_document_uri="seamline://events/2",
    )

    assert report.drift == [Drift(item, location, "OVS-002-C00-S", expected=4, actual=6, pushed=3)]
    assert [p.previous for p in report.applied] == [6, 9]
    assert (shop_available(sandbox, item, location), shop_available(sandbox, other, location)) == (3, 8)
    outcomes = [c.outcome for c in sandbox.calls[calls_before:]]
    assert outcomes == ["user_errors", "ok", "ok"]  # refused whole, read, applied
    stale, retry = mutations(sandbox)[-2:]
    assert stale.idempotency_key != retry.idempotency_key


def test_a_retry_after_a_lost_response_replays_the_first_result_instead_of_finding_drift(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    item = publish(client, make_style("OVS-003"))["OVS-003-C00-L"]
    push = [AvailabilityPush(item, location, 5, previous=0)]
    sandbox.fail_next(after_apply=True)
    with pytest.raises(ShopifyUnavailable):
        client.set_available(push, reference_document_uri="seamline://events/7", idempotency_key="delivery-7")
    assert shop_available(sandbox, item, location) == 5  # applied, but we never heard

    report = client.set_available(push, reference_document_uri="seamline://events/7", idempotency_key="delivery-7")

    assert (report.drift, len(report.applied)) == ([], 1)
    first, again = mutations(sandbox)[-2:]
    assert (first.outcome, again.outcome) == ("failed", "replayed")
    assert first.idempotency_key == again.idempotency_key
    assert shop_available(sandbox, item, location) == 5


def test_a_5xx_before_applying_changes_nothing_and_is_a_temporary_failure(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    item = publish(client, make_style("OVS-004"))["OVS-004-C00-S"]
    sandbox.fail_next(2, status=502)
    for _ in range(2):
        with pytest.raises(ShopifyUnavailable) as caught:
            client.set_available([AvailabilityPush(item, location, 5, 0)], reference_document_uri="seamline://e/1")
        assert caught.value.status == 502
    assert shop_available(sandbox, item, location) == 0
    assert client.set_available(
        [AvailabilityPush(item, location, 5, 0)], reference_document_uri="seamline://e/1"
    ).applied


def test_a_key_whose_attempt_failed_at_shopify_is_replaced_and_the_batch_applies_once(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    item = publish(client, make_style("OVS-005"))["OVS-005-C00-S"]
    push = [AvailabilityPush(item, location, 6, previous=0)]
    sandbox.idempotent_attempt_fails()
    with pytest.raises(ShopifyUnavailable):  # the dispatcher retries the delivery later, same key
        client.set_available(push, reference_document_uri="seamline://events/9", idempotency_key="delivery-9")
    assert shop_available(sandbox, item, location) == 0

    report = client.set_available(push, reference_document_uri="seamline://events/9", idempotency_key="delivery-9")

    assert len(report.applied) == 1
    assert shop_available(sandbox, item, location) == 6
    failed, refused, fresh = mutations(sandbox)[-3:]
    assert (failed.outcome, refused.outcome, fresh.outcome) == ("failed", "user_errors", "ok")
    assert failed.idempotency_key == refused.idempotency_key != fresh.idempotency_key


def test_a_request_still_in_progress_at_shopify_is_asked_again_a_bounded_number_of_times(
    sandbox: ShopifySandbox, clock: FixedClock, location: str
) -> None:
    client = make_client(sandbox, clock, max_in_progress_rounds=3)
    item = publish(client, make_style("OVS-006"))["OVS-006-C00-S"]
    push = [AvailabilityPush(item, location, 2, previous=0)]
    sandbox.idempotent_in_progress(2)
    assert client.set_available(push, reference_document_uri="seamline://e/2", idempotency_key="d-2").applied
    assert [c.outcome for c in mutations(sandbox)] == ["user_errors", "user_errors", "ok"]
    assert len({c.idempotency_key for c in mutations(sandbox)}) == 1, "the same request: the same key"

    sandbox.idempotent_in_progress(10)
    before = len(mutations(sandbox))
    with pytest.raises(ShopifyUnavailable, match="still in progress"):
        client.set_available([AvailabilityPush(item, location, 3, previous=2)], reference_document_uri="seamline://e/3")
    assert len(mutations(sandbox)) - before == 4, "asked once and again 3 times, then handed back"
    assert shop_available(sandbox, item, location) == 2


def thousand_items(client: ShopifyClient) -> list[str]:
    items: list[str] = []
    sizes = tuple(str(n) for n in range(28, 38))
    for n in range(10):
        items.extend(publish(client, make_style(f"DRP-{n:02d}", colours=10, sizes=sizes, seed=n)).values())
    assert len(items) == 1000
    return items


def test_a_thousand_availability_changes_take_at_most_four_graphql_calls(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    items = thousand_items(client)
    pushes = [AvailabilityPush(item, location, n % 17, previous=0) for n, item in enumerate(items)]

    report = client.set_available(pushes, reference_document_uri="seamline://batches/1", idempotency_key="run-1")

    assert report.calls <= 4
    assert (report.mutations, len(report.applied), report.rejected) == (4, 1000, [])
    assert all(len(c.variables["input"]["quantities"]) <= 250 for c in mutations(sandbox))
    assert all(shop_available(sandbox, item, location) == n % 17 for n, item in enumerate(items))


def test_pushes_for_the_same_item_are_coalesced_to_the_latest_number(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    item = publish(client, make_style("OVS-005"))["OVS-005-C00-S"]
    pushes = [
        AvailabilityPush(item, location, 5, 0),
        AvailabilityPush(item, location, 4, 5),
        AvailabilityPush(item, location, 2, 4),
    ]
    report = client.set_available(pushes, reference_document_uri="seamline://e/2")
    assert [(p.available, p.previous) for p in report.applied] == [(2, 0)]
    assert (report.mutations, shop_available(sandbox, item, location)) == (1, 2)


def test_a_small_bucket_is_drained_by_pacing_without_a_single_throttled_call(
    sandbox: ShopifySandbox, client: ShopifyClient, clock: FixedClock, location: str
) -> None:
    items = thousand_items(client)
    sandbox.set_bucket(maximum=20, restore_rate=5, available=20)
    calls_before, started = len(sandbox.calls), clock.now()

    report = client.set_available(
        [AvailabilityPush(i, location, 3, 0) for i in items], reference_document_uri="seamline://e/3"
    )

    outcomes = Counter(c.outcome for c in sandbox.calls[calls_before:])
    assert outcomes == Counter({"ok": 4})
    assert (report.throttled, len(report.applied)) == (0, 1000)
    assert (clock.now() - started).total_seconds() >= 4.0  # 40 points through a 20-point bucket at 5/s


@pytest.mark.parametrize("http_status", [200, 429])
def test_a_throttled_answer_is_waited_out_and_retried_whether_it_comes_as_200_or_429(
    clock: FixedClock, http_status: int
) -> None:
    sandbox = ShopifySandbox(SandboxConfig(shop_domain=SHOP, throttled_status=http_status), clock=clock)
    location = gid("Location", sandbox.add_location("Warehouse"))
    client = make_client(sandbox, clock)
    item = publish(client, make_style("OVS-006"))["OVS-006-C00-S"]
    sandbox.drain(2000)  # another worker of the same app spent the bucket

    report = client.set_available([AvailabilityPush(item, location, 8, 0)], reference_document_uri="seamline://e/4")

    throttled = [c for c in sandbox.calls if c.outcome == "throttled"]
    assert [c.status for c in throttled] == [http_status]
    assert (report.throttled, len(report.applied), report.rejected) == (1, 1, [])
    assert shop_available(sandbox, item, location) == 8


def test_a_wait_longer_than_the_limit_is_handed_back_to_the_dispatcher(
    sandbox: ShopifySandbox, clock: FixedClock, location: str
) -> None:
    client = make_client(sandbox, clock, max_throttle_wait_seconds=1.0)
    item = publish(client, make_style("OVS-007"))["OVS-007-C00-S"]
    sandbox.set_bucket(restore_rate=1)
    sandbox.drain(2000)
    with pytest.raises(ShopifyThrottled) as caught:
        client.set_available([AvailabilityPush(item, location, 8, 0)], reference_document_uri="seamline://e/5")
    assert caught.value.retry_after > 1.0
    assert shop_available(sandbox, item, location) == 0


def test_an_item_not_stocked_at_the_location_is_rejected_and_the_rest_of_its_batch_applies(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    items = publish(client, make_style("OVS-008"))
    other_location = gid("Location", sandbox.add_location("Pop-up"))  # nothing is stocked there yet
    report = client.set_available(
        [
            AvailabilityPush(items["OVS-008-C00-S"], other_location, 1, 0),
            AvailabilityPush(items["OVS-008-C00-M"], location, 2, 0),
        ],
        reference_document_uri="seamline://e/6",
    )
    assert [(r.push.location_id, r.code) for r in report.rejected] == [(other_location, "ITEM_NOT_STOCKED_AT_LOCATION")]
    assert [p.inventory_item_id for p in report.applied] == [items["OVS-008-C00-M"]]
    assert shop_available(sandbox, items["OVS-008-C00-M"], location) == 2


def test_admin_api_url_alone_points_the_client_at_a_real_shop_or_the_sandbox() -> None:
    seen: list[httpx.Request] = []

    def real_shop(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "data": {"locations": {"nodes": [{"id": "gid://shopify/Location/1", "name": "HQ", "isActive": True}]}}
            },
        )

    real = ShopifyClient(
        ShopifyConfig.for_shop("brand.myshopify.com", "shpat_real"), transport=httpx.MockTransport(real_shop)
    )
    assert real.locations() == [("gid://shopify/Location/1", "HQ")]
    assert str(seen[0].url) == "https://brand.myshopify.com/admin/api/2026-07/graphql.json"
    assert seen[0].headers["X-Shopify-Access-Token"] == "shpat_real"

    sandbox = ShopifySandbox()
    sandbox.add_location("Warehouse")
    local = ShopifyClient(
        ShopifyConfig("http://127.0.0.1:8100/admin/api/2026-07/graphql.json", sandbox.config.access_token),
        transport=sandbox.transport(),
    )
    assert [name for _, name in local.locations()] == ["Warehouse"]


# -- product publish and fulfilment -------------------------------------------------------------------


def test_publishing_a_style_creates_one_product_with_colour_and_size_options_sku_barcode_and_price(
    sandbox: ShopifySandbox, client: ShopifyClient
) -> None:
    style = make_style("OVS-010", colours=2)
    items = publish(client, style)
    (product,) = sandbox.shop.products.values()
    assert (product.title, product.handle, product.status) == ("Style OVS-010", "ovs-010", "ACTIVE")
    assert [(o.name, o.values) for o in product.options] == [
        ("Colour", ["Colour 00", "Colour 01"]),
        ("Size", ["S", "M", "L"]),
    ]
    variants = sandbox.shop.variants_of(product)
    assert sorted(v.sku or "" for v in variants) == sorted(v.sku for v in style.variants) == sorted(items)
    first = next(v for v in variants if v.sku == "OVS-010-C00-S")
    assert (first.options, first.price, first.barcode) == (
        [("Colour", "Colour 00"), ("Size", "S")],
        Decimal("49.00"),
        mapper.barcode_from_gtin(style.variants[0].gtin),
    )


def test_republishing_a_style_updates_in_place_and_a_discontinued_style_is_archived(
    sandbox: ShopifySandbox, client: ShopifyClient
) -> None:
    style = make_style("OVS-011")
    first = publish(client, style)
    again = publish(client, style)
    assert first == again
    assert len(sandbox.shop.products) == 1
    product_id = next(iter(sandbox.shop.products))
    assert client.archive_product(str(product_id)) == ()
    assert sandbox.shop.products[product_id].status == "ARCHIVED"
    publish(client, make_style("OVS-011", status="discontinued"))
    assert sandbox.shop.products[product_id].status == "ARCHIVED"


def test_a_shipped_order_is_fulfilled_with_tracking_once_even_when_asked_twice(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    items = publish(client, make_style("OVS-012"))
    client.set_available(
        [AvailabilityPush(items["OVS-012-C00-M"], location, 5, 0)], reference_document_uri="seamline://e/8"
    )
    order = sandbox.place_order([("OVS-012-C00-M", 2)])
    tracking = Tracking("DHL", "JD014600006281", "https://track.example/JD014600006281")

    done = client.create_fulfillment(str(order.id), tracking)
    again = client.create_fulfillment(str(order.id), tracking)

    assert done.fulfillment_id
    assert not done.user_errors
    assert not done.nothing_to_fulfil
    assert again.nothing_to_fulfil
    assert again.fulfillment_id is None
    (fulfillment,) = sandbox.shop.fulfillments.values()
    assert [(t.company, t.number) for t in fulfillment.tracking] == [("DHL", "JD014600006281")]
    item = int(items["OVS-012-C00-M"].rsplit("/", 1)[1])
    loc = int(location.rsplit("/", 1)[1])
    assert (sandbox.quantity(item, loc, "available"), sandbox.quantity(item, loc, "on_hand")) == (3, 3)


def _stocked_order(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str, code: str, sizes: tuple[str, ...], qty: int = 1
) -> tuple[Any, list[str]]:
    style = make_style(code, sizes=sizes)
    items = publish(client, style)
    skus = [v.sku for v in style.variants]
    for start in range(0, len(skus), 250):
        client.set_available(
            [AvailabilityPush(items[sku], location, 10, 0) for sku in skus[start : start + 250]],
            reference_document_uri=f"seamline://e/{code}-{start}",
        )
    return sandbox.place_order([(sku, qty) for sku in skus]), skus


def _fulfilled(sandbox: ShopifySandbox, order_id: int) -> dict[str, int]:
    lines = {line.id: line.sku or "" for line in sandbox.shop.orders[order_id].line_items}
    done: dict[str, int] = {}
    for fulfillment in sandbox.shop.fulfillments.values():
        if fulfillment.order_id == order_id:
            for line_item_id, qty in fulfillment.lines:
                done[lines[line_item_id]] = done.get(lines[line_item_id], 0) + qty
    return done


def test_a_shipment_of_some_lines_fulfils_only_those_lines_and_quantities(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    order, skus = _stocked_order(sandbox, client, location, "OVS-020", ("S", "M", "L"), qty=3)
    first = client.create_fulfillment(str(order.id), Tracking("UPS", "1Z1", None), lines={skus[0]: 2, skus[1]: 3})
    assert first.fulfillment_id
    assert not first.user_errors
    assert _fulfilled(sandbox, order.id) == {skus[0]: 2, skus[1]: 3}, "Shopify must not fulfil what did not ship"
    rest = client.create_fulfillment(str(order.id), Tracking("UPS", "1Z2", None))
    assert rest.fulfillment_id
    assert _fulfilled(sandbox, order.id) == {skus[0]: 3, skus[1]: 3, skus[2]: 3}


def test_every_fulfilment_order_and_line_is_read_past_the_first_page(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    sizes = tuple(f"Z{n:02d}" for n in range(7))
    order, skus = _stocked_order(sandbox, client, location, "OVS-021", sizes)
    assert len(sandbox.split_fulfillment_orders(order.id)) == 7, "seven fulfilment orders: more than a page of 5"
    assert client.create_fulfillment(str(order.id), None).fulfillment_id
    assert _fulfilled(sandbox, order.id) == dict.fromkeys(skus, 1)

    many = tuple(f"N{n:02d}" for n in range(60))
    big, big_skus = _stocked_order(sandbox, client, location, "OVS-022", many)
    assert client.create_fulfillment(str(big.id), None).fulfillment_id
    assert _fulfilled(sandbox, big.id) == dict.fromkeys(big_skus, 1), "60 lines: more than a page of 50"
    pages = [c.operation for c in sandbox.calls if c.operation == "FulfillmentOrderLines"]
    assert pages, "the second page of lines was asked for"


def test_a_scheduled_fulfilment_order_is_opened_and_one_on_hold_is_not_overridden(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    order, skus = _stocked_order(sandbox, client, location, "OVS-023", ("S", "M"))
    scheduled, held = sandbox.split_fulfillment_orders(order.id)
    sandbox.set_fulfillment_order_status(scheduled, "SCHEDULED")
    sandbox.set_fulfillment_order_status(held, "ON_HOLD")
    result = client.create_fulfillment(str(order.id), Tracking("DHL", "JD1", None))
    assert result.fulfillment_id
    assert result.on_hold == (gid("FulfillmentOrder", held),)
    assert _fulfilled(sandbox, order.id) == {skus[0]: 1}
    with pytest.raises(ShopifyOnHold, match="on hold"):
        client.create_fulfillment(str(order.id), Tracking("DHL", "JD1", None))
    sandbox.set_fulfillment_order_status(held, "OPEN")  # the merchant releases the hold
    assert client.create_fulfillment(str(order.id), Tracking("DHL", "JD1", None)).fulfillment_id
    assert _fulfilled(sandbox, order.id) == {skus[0]: 1, skus[1]: 1}


def test_fulfilment_orders_at_two_locations_are_fulfilled_one_call_per_location(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    order, skus = _stocked_order(sandbox, client, location, "OVS-024", ("S", "M"))
    other = sandbox.add_location("Store")
    sandbox.split_fulfillment_orders(order.id, [int(location.rsplit("/", 1)[1]), other])
    result = client.create_fulfillment(str(order.id), Tracking("DHL", "JD2", None))
    assert not result.user_errors
    assert len(result.fulfillment_ids) == 2
    assert _fulfilled(sandbox, order.id) == {skus[0]: 1, skus[1]: 1}


# -- the webhook sender -----------------------------------------------------------------------------


class Receiver:
    """The webhook route's first half: verify, dedupe, store; answer 200 (or fail on request)."""

    def __init__(self, secrets: list[str], fail_first: int = 0) -> None:
        self.secrets = secrets
        self.fail_first = fail_first
        self.arrivals: list[str] = []
        self.stored: dict[tuple[str, str], tuple[str, bytes]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            headers = inbound.verify(request.content, request.headers, self.secrets, shop_domain=SHOP)
        except WebhookRejected as exc:
            return httpx.Response(exc.status)
        if self.fail_first > 0:
            self.fail_first -= 1
            return httpx.Response(503)
        self.arrivals.append(headers.webhook_id)
        self.stored.setdefault(headers.dedupe_key, (headers.topic, request.content))
        return httpx.Response(200)


def shop_activity(sandbox: ShopifySandbox, client: ShopifyClient, location: str) -> None:
    items = publish(client, make_style("WEB-001"))
    client.set_available(
        [AvailabilityPush(i, location, 10, 0) for i in items.values()], reference_document_uri="seamline://e/9"
    )
    for n in range(6):
        order = sandbox.place_order([("WEB-001-C00-M", 1)], email=f"buyer{n}@example.com")
        if n % 2:
            sandbox.refund(order.id, [("WEB-001-C00-M", 1, "return")], location_id=int(location.rsplit("/", 1)[1]))


def test_the_sender_delivers_every_webhook_at_least_once_duplicated_and_shuffled_with_valid_signatures(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    shop_activity(sandbox, client, location)
    sender = WebhookSender(SECRET, shop_domain=SHOP, seed=7)
    deliveries = sender.from_events(sandbox.drain_events())
    receiver = Receiver([SECRET])

    attempts = sender.send(
        deliveries,
        "https://seamline.test/webhooks/shopify/web",
        transport=httpx.MockTransport(receiver),
        duplicates=25,
        shuffle=True,
    )

    assert all(a.succeeded for a in attempts)
    assert len(receiver.arrivals) == len(deliveries) + 25
    assert set(receiver.stored) == {(SHOP, d.webhook_id) for d in deliveries}
    assert max(Counter(receiver.arrivals).values()) > 1
    assert receiver.arrivals[: len(deliveries)] != [d.webhook_id for d in deliveries]
    by_event = Counter(d.event_id for d in deliveries)
    assert any(count > 1 for count in by_event.values()), "an order's topics share one event id"


def test_the_sender_tries_a_failed_delivery_again_with_the_same_webhook_id(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    shop_activity(sandbox, client, location)
    sender = WebhookSender(SECRET, shop_domain=SHOP, seed=1)
    deliveries = sender.from_events(sandbox.drain_events())
    receiver = Receiver([SECRET], fail_first=3)

    attempts = sender.send(deliveries, "https://seamline.test/hooks", transport=httpx.MockTransport(receiver))

    assert sum(not a.succeeded for a in attempts) == 3
    assert set(receiver.stored) == {(SHOP, d.webhook_id) for d in deliveries}


def test_deliveries_signed_with_a_rotated_out_secret_are_refused_and_never_stored(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    shop_activity(sandbox, client, location)
    deliveries = WebhookSender(OLD_SECRET, shop_domain=SHOP).from_events(sandbox.drain_events())
    receiver = Receiver([SECRET])
    attempts = WebhookSender(OLD_SECRET, shop_domain=SHOP).send(
        deliveries, "https://seamline.test/hooks", transport=httpx.MockTransport(receiver), retries=0
    )
    assert {a.status for a in attempts} == {401}
    assert receiver.stored == {}


def test_every_topic_the_sandbox_sends_parses_into_canonical_objects(
    sandbox: ShopifySandbox, client: ShopifyClient, location: str
) -> None:
    shop_activity(sandbox, client, location)
    order = next(iter(sandbox.shop.orders.values()))
    client.create_fulfillment(str(order.id), Tracking("UPS", "1Z999", None))
    sandbox.cancel_order(list(sandbox.shop.orders)[-1])
    deliveries = WebhookSender(SECRET, shop_domain=SHOP).from_events(sandbox.drain_events())
    lookups = ShopifyLookups(location_codes={location.rsplit("/", 1)[1]: "WH"})

    parsed: dict[str, list[Any]] = {}
    for delivery in deliveries:
        headers = inbound.verify(delivery.body, delivery.headers, [SECRET])
        parsed.setdefault(headers.topic, []).append(inbound.parse(headers.topic, delivery.body, lookups))

    assert set(parsed) == {
        "products/create",
        "inventory_levels/update",
        "orders/create",
        "refunds/create",
        "fulfillments/create",
        "orders/cancelled",
    }
    accepted = [m for m in parsed["orders/create"] if m.verdict is OrderVerdict.ACCEPT]
    assert len(accepted) == 6
    assert all(m.stock_lines[0].sku == "WEB-001-C00-M" for m in accepted)
    assert isinstance(accepted[0].order, InboundOrder)
    assert accepted[0].order.customer is not None
    refunds = parsed["refunds/create"]
    assert len(refunds) == 3
    assert all(r.refund.lines[0].restock and r.refund.lines[0].location == "WH" for r in refunds)
    (fulfilment,) = parsed["fulfillments/create"]
    assert (fulfilment.tracking_company, fulfilment.tracking_numbers, fulfilment.lines[0].sku) == (
        "UPS",
        ("1Z999",),
        "WEB-001-C00-M",
    )


def test_a_mapped_sample_payload_derived_with_a_gift_card_keeps_it_out_of_stock_lines() -> None:
    payload = json.loads(fixture_bytes("orders_create.json"))
    gift = copy.deepcopy(payload["line_items"][0])
    gift.update(id=1, gift_card=True, sku=None, name="Gift card $50", price="50.00", price_set=None)
    payload["line_items"].append(gift)
    mapped = mapper.map_order(payload, ShopifyLookups(known_skus=FIXTURE_SKUS, accept_test_orders=True))
    assert mapped.order.has_gift_cards
    assert [s.reason for s in mapped.skipped if s.line_id == "1"] == [SkipReason.GIFT_CARD]
    assert all(line.sku in FIXTURE_SKUS for line in mapped.stock_lines)
