"""Linking a shop's existing products to our SKUs (``seamline shopify link``): each active variant is looked
up in the shop by its SKU, else by its barcode (the GTIN as printed); exactly one match is recorded in the
mapping tables (variant, inventory item; the product per style when all its linked variants agree), several
are reported as ambiguous and nothing is guessed. The shop's active locations are matched to ours by name
or code (``settings.location_map`` still wins). Held ``orders/create`` messages of the channel (unknown
SKU) are then retried, so the orders that waited for the link come in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from seamline.channels.shopify import inbound
from seamline.channels.shopify.client import ShopifyClient, VariantMatch
from seamline.channels.shopify.mapper import barcode_from_gtin, legacy_id
from seamline.integration import Integration
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import shopify_repo

PAGE = 500


@dataclass
class LinkReport:
    by_sku: list[str] = field(default_factory=list)
    by_gtin: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    #: SKU → the Shopify variant ids that all matched it.
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    products: int = 0
    #: Shopify locations matched to ours by name or code.
    locations: int = 0
    retried: int = 0
    calls: int = 0

    @property
    def linked(self) -> int:
        return len(self.by_sku) + len(self.by_gtin)


Progress = Callable[[str, int, int], None]  # (sku, done, total)


def _one(matches: list[VariantMatch]) -> VariantMatch | None | list[VariantMatch]:
    unique = {m.variant_id: m for m in matches}
    if not unique:
        return None
    if len(unique) == 1:
        return next(iter(unique.values()))
    return list(unique.values())


def link_channel(
    integration: Integration,
    channel: str,
    client: ShopifyClient,
    *,
    relink: bool = False,
    progress: Progress | None = None,
) -> LinkReport:
    app = integration.app
    report = LinkReport()
    calls_before = client.calls
    total = app.read(shopify_repo.count_linkable)
    known = app.read(lambda conn: shopify_repo.linked_skus(conn, channel))
    products: dict[str, set[str]] = defaultdict(set)  # style -> Shopify product ids its variants matched
    done = 0
    after: str | None = None

    def save_links(uow: UnitOfWork, links: list[dict[str, str]]) -> None:
        shopify_repo.link_variants(uow.conn, channel, links, app.clock.now())

    while True:
        page = app.read(partial(shopify_repo.linkable_skus, after=after, limit=PAGE))
        if not page:
            break
        after = page[-1]["sku"]
        links: list[dict[str, str]] = []
        for row in page:
            sku, style, gtin = str(row["sku"]), str(row["style_code"]), row["gtin"]
            done += 1
            if sku in known and not relink:
                report.already.append(sku)
                if progress:
                    progress(sku, done, total)
                continue
            how, found = "link_sku", _one(client.find_variants(sku=sku))
            barcode = barcode_from_gtin(gtin)
            if found is None and barcode:
                how, found = "link_gtin", _one(client.find_variants(barcode=barcode))
            if found is None:
                report.unmatched.append(sku)
            elif isinstance(found, list):
                report.ambiguous[sku] = [str(legacy_id(m.variant_id)) for m in found]
            else:
                (report.by_sku if how == "link_sku" else report.by_gtin).append(sku)
                product = str(legacy_id(found.product_id))
                products[style].add(product)
                links.append(
                    {
                        "sku": sku,
                        "product_id": product,
                        "variant_id": str(legacy_id(found.variant_id)),
                        "inventory_item_id": str(legacy_id(found.inventory_item_id)),
                        "linked_by": how,
                    }
                )
            if progress:
                progress(sku, done, total)
        if links:
            app.write(partial(save_links, links=links))

    def save_products(uow: UnitOfWork) -> int:
        conn = uow.conn
        saved = 0
        for style, ids in sorted(products.items()):
            if len(ids) != 1 or shopify_repo.product_of_style(conn, channel, style) is not None:
                continue
            shopify_repo.save_product(
                conn, channel, style, product_id=ids.pop(), handle=None, status=None, version=None, now=app.clock.now()
            )
            saved += 1
        return saved

    report.products = app.write(save_products)
    ours = app.read(shopify_repo.our_locations)
    by_name = {name.strip().lower(): code for code, name in ours.items()} | {code.lower(): code for code in ours}
    shop_locations = {
        str(legacy_id(location_id)): (by_name[name.strip().lower()], name)
        for location_id, name in client.locations()
        if name.strip().lower() in by_name
    }
    if shop_locations:
        now = app.clock.now()
        app.write(lambda uow: shopify_repo.link_locations(uow.conn, channel=channel, links=shop_locations, now=now))
    report.locations = len(shop_locations)
    report.calls = client.calls - calls_before
    if report.linked:
        source = inbound.inbox_source(channel)
        for message in integration.inbox.list(status="failed", source=source, limit=10_000):
            if message["message_type"] == "orders/create" and integration.inbox.retry(int(message["id"])):
                report.retried += 1
    return report
