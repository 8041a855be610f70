"""End to end on SQLite and PostgreSQL: an order allocated at the 3PL goes out as a 940, the 3PL's 945 comes
back through the drop folder and the inbox and confirms the pick, the ledger decrements, and after the
dispatcher drains, Shopify (sandbox shop), Amazon (sandbox, wired from the channel's settings) and the B2B
portal all show the new number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seamline.catalog.model import Colour, Price, Style, Variant
from seamline.channels import sandboxes
from seamline.channels.shopify import mapper
from seamline.channels.shopify.client import ShopifyClient, ShopifyConfig
from seamline.channels.shopify.connector import availability_subscriber
from seamline.channels.threepl.documents import Accepted
from seamline.channels.threepl.mapper import read_940
from seamline.domain.clock import FixedClock
from seamline.sandbox.amazon import AmazonSandbox, SandboxConfig
from seamline.sandbox.shopify import ShopifySandbox
from tests.integration.threepl_world import ThreePLWorld, x12_945

SKU = "OVS-001-NVY-M"
MARKETPLACE = "A1PA6795UKMFR9"


class Channels:
    """The three places that show the 3PL's stock: a Shopify shop, an Amazon seller, a wholesale account."""

    def __init__(self, world: ThreePLWorld, clock: FixedClock) -> None:
        self.world, http = world, world.http
        # Shopify: the sandbox shop, the product published, the availability subscriber of channel "shop"
        self.shop = ShopifySandbox(clock=clock)
        self.location_id = self.shop.add_location("Online")
        shopify = ShopifyClient(
            ShopifyConfig("http://sandbox.test/admin/api/2026-07", self.shop.config.access_token),
            transport=self.shop.transport(),
            clock=clock,
            sleep=clock.advance,
        )
        style = Style(
            "OVS-001",
            "Navy overshirt",
            "SS27",
            "Shirts",
            ("M",),
            (Colour("NVY", "Navy"),),
            (Variant(SKU, "NVY", "M", "05012345678900"),),
            prices=(Price("retail", "EUR", Decimal("89.00")),),
        )
        published = shopify.publish_product(mapper.product_set_variables(style, currency="EUR"))
        self.items = {v.sku: v.inventory_item_id for v in published.variants}
        world.integration.add_subscriber(
            availability_subscriber(
                "shop",
                shopify,
                location_id=str(self.location_id),
                item_for_sku=self.items.get,
                on_drift=lambda drift: None,
                name="shopify:shop-e2e",
            )
        )
        # Amazon: a sandbox seller behind a sandbox: URL, wired from the channel's settings alone
        self.sandbox_name = f"e2e-{uuid.uuid4().hex[:8]}"
        self.amazon = AmazonSandbox(SandboxConfig())
        self.amazon.add_listing(SKU, "SHIRT", quantity=0)
        sandboxes.register("amazon", self.sandbox_name, self.amazon)
        body = {
            "kind": "amazon",
            "sources": ["ACME"],
            "on_shortage": "backorder",
            "settings": {"endpoint": f"sandbox:amazon/{self.sandbox_name}", "product_type": "SHIRT"},
        }
        assert http.put("/v1/channels/amazon", json=body).status_code == 201
        assert http.put(f"/v1/channels/amazon/listings/{SKU}", json={"marketplace": MARKETPLACE}).status_code == 200
        world.wiring.refresh()
        assert world.integration.registry.get("amazon:amazon") is not None, world.wiring.errors
        # B2B: a wholesale channel on the same 3PL stock, and an account of it
        assert http.put("/v1/channels/b2b", json={"kind": "wholesale", "sources": ["ACME"]}).status_code == 201
        account = {"name": "Atelier", "channel": "b2b", "price_tier": "wholesale", "currency": "EUR"}
        assert http.put("/v1/b2b/accounts/ATELIER", json=account).status_code == 201

    def close(self) -> None:
        sandboxes.forget("amazon", self.sandbox_name)

    def drain(self) -> None:
        self.world.integration.dispatcher.drain()

    def shown(self) -> dict[str, int | None]:
        b2b = self.world.http.get("/v1/b2b/accounts/ATELIER/availability", params={"sku": SKU}).json()
        (item,) = b2b["items"]
        return {
            "shopify": self.shop.quantity(int(self.items[SKU].rsplit("/", 1)[1]), self.location_id),
            "amazon": self.amazon.quantity(SKU),
            "b2b": item["available"],
        }


@pytest.fixture
def world(client: TestClient, clock: FixedClock, tmp_path: Path) -> ThreePLWorld:
    return ThreePLWorld(client, clock, tmp_path / "acme")


@pytest.fixture
def channels(world: ThreePLWorld, clock: FixedClock) -> Iterator[Channels]:
    found = Channels(world, clock)
    yield found
    found.close()


def test_a_945_confirming_a_pick_decrements_the_ledger_and_every_channel_shows_the_new_number(
    world: ThreePLWorld, channels: Channels
) -> None:
    world.receive(SKU, 10)
    channels.drain()
    assert channels.shown() == {"shopify": 10, "amazon": 10, "b2b": 10}

    order = world.order("web-1001", [(SKU, 3)])
    world.take()  # the order goes out to the 3PL as a pick ticket
    read = read_940((world.root / "outbound" / "940-000000001.edi").read_bytes())
    assert isinstance(read, Accepted), read
    (ticket,) = read.document.documents
    assert (ticket.order_id, [(line.item.sku, line.qty) for line in ticket.lines]) == (order["id"], [(SKU, 3)])

    world.drop("945-0001.edi", x12_945(ticket.order_id, [(SKU, 3)]))
    world.take()  # the 3PL's confirmation comes back and is applied
    assert [m["status"] for m in world.messages()] == ["processed"]
    assert world.stock(SKU) == {"on_hand": 7, "committed": 0, "reserved": 0, "available": 7}
    assert world.movements()[-1] == ("pick", SKU, "ACME", "customer", 3)
    assert world.order_view(order["id"])["status"] == "shipped"

    channels.drain()
    assert channels.shown() == {"shopify": 7, "amazon": 7, "b2b": 7}


def test_a_945_for_an_order_from_the_b2b_portal_ships_it_and_the_portal_shows_it_shipped(
    world: ThreePLWorld, channels: Channels, clock: FixedClock
) -> None:
    world.receive(SKU, 10)
    today = clock.now().astimezone(UTC).date().isoformat()
    body = {
        "po_number": "PO-1",
        "lines": [{"sku": SKU, "qty": 4}],
        "ship_window": {"start": today, "cancel": "2027-01-31"},
    }
    placed = world.http.post("/v1/b2b/accounts/ATELIER/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    channels.drain()
    assert channels.shown() == {"shopify": 6, "amazon": 6, "b2b": 6}

    world.take()
    world.drop("945-b2b.edi", x12_945(order_id, [(SKU, 4)]))
    world.take()
    assert world.stock(SKU) == {"on_hand": 6, "committed": 0, "reserved": 0, "available": 6}
    status = world.http.get(f"/v1/b2b/accounts/ATELIER/orders/{order_id}").json()
    assert status["status"] == "shipped"
    channels.drain()
    assert channels.shown() == {"shopify": 6, "amazon": 6, "b2b": 6}
