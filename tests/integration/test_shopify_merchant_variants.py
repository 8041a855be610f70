"""``productSet`` deletes the variants its list leaves out (issue 21): a variant the merchant added to a
published product in Shopify is never deleted by a publish; the publish is refused naming it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seamline.domain.clock import FixedClock
from seamline.service import Seamline
from seamline.store import outbox_repo, shopify_repo
from tests.integration.shopify_world import CHANNEL, ShopWorld


def test_a_variant_the_merchant_added_in_shopify_is_not_deleted_by_the_next_publish(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    world = ShopWorld(client, app, clock)
    world.publish()
    product = app.read(lambda conn: shopify_repo.product_of_style(conn, CHANNEL, "OVS-001"))
    assert product is not None
    product_id = int(product["product_id"])
    before = {v.sku for v in world.sandbox.shop.variants.values() if v.product_id == product_id}
    theirs = world.sandbox.merchant_adds_variant(product_id, "MERCH-NVY-XXL", [("Colour", "Navy"), ("Size", "XXL")])

    world.publish()  # the style changes: StyleChanged → productSet, which would delete MERCH-NVY-XXL

    assert theirs in world.sandbox.shop.variants, "the merchant's variant is still in the shop"
    after = {v.sku for v in world.sandbox.shop.variants.values() if v.product_id == product_id}
    assert after == before | {"MERCH-NVY-XXL"}
    [dead] = app.read(lambda conn: outbox_repo.dead_letters(conn, subscriber=f"shopify-products:{CHANNEL}"))
    assert "MERCH-NVY-XXL" in dead["last_error"]
    assert "not in the master" in dead["last_error"]
