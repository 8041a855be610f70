"""The Shopify channel's own rows (issue 5): which product and variant carry each style and SKU, the Shopify
documents already applied, and the drift Shopify showed. Ids are Shopify's numeric ids as strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from seamline.store.tables import (
    channels,
    locations,
    shopify_documents,
    shopify_drift,
    shopify_locations,
    shopify_products,
    shopify_variants,
    skus,
)
from seamline.store.upsert import insert_on_conflict


# ---------------------------------------------------------------------- products and variants
def save_product(
    conn: Connection,
    channel: str,
    style: str,
    *,
    product_id: str,
    handle: str | None,
    status: str | None,
    version: int | None,
    now: datetime,
) -> None:
    values = {"product_id": product_id, "handle": handle, "status": status, "published_version": version}
    insert_on_conflict(
        conn,
        shopify_products,
        ["channel", "style"],
        {"channel": channel, "style": style, **values, "updated_at": now},
        {**values, "updated_at": now},
    )


def published_versions(conn: Connection, channel: str) -> dict[str, int | None]:
    """Style → the version the channel's product holds (None: linked, never published by us)."""
    rows = conn.execute(
        select(shopify_products.c.style, shopify_products.c.published_version).where(
            shopify_products.c.channel == channel
        )
    )
    return {r.style: r.published_version for r in rows}


def product_of_style(conn: Connection, channel: str, style: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(shopify_products).where(shopify_products.c.channel == channel, shopify_products.c.style == style)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def style_of_product(conn: Connection, channel: str, product_id: str) -> str | None:
    return conn.execute(
        select(shopify_products.c.style).where(
            shopify_products.c.channel == channel, shopify_products.c.product_id == product_id
        )
    ).scalar_one_or_none()


def link_variants(conn: Connection, channel: str, links: Iterable[Mapping[str, str]], now: datetime) -> int:
    """Record (sku, product_id, variant_id, inventory_item_id, linked_by) rows, replacing what those SKUs
    and those variants were linked to (a variant id linked to another SKU moves to this one: Shopify's
    variant is the unique thing). Two statements, however many links."""
    by_variant = {link["variant_id"]: link for link in links}  # one SKU per variant: the last link wins
    rows = {link["sku"]: link for link in by_variant.values()}
    if not rows:
        return 0
    variants = sorted({link["variant_id"] for link in rows.values()})
    conn.execute(
        delete(shopify_variants).where(
            shopify_variants.c.channel == channel,
            or_(shopify_variants.c.sku.in_(sorted(rows)), shopify_variants.c.variant_id.in_(variants)),
        )
    )
    conn.execute(
        shopify_variants.insert(),
        [
            {
                "channel": channel,
                "sku": sku,
                **{k: link[k] for k in ("product_id", "variant_id", "inventory_item_id", "linked_by")},
                "updated_at": now,
            }
            for sku, link in sorted(rows.items())
        ],
    )
    return len(rows)


def variant_skus(conn: Connection, channel: str, variant_ids: Sequence[str] | None = None) -> dict[str, str]:
    """Shopify variant id → our SKU (for ``variant_ids`` only, when given)."""
    query = select(shopify_variants.c.variant_id, shopify_variants.c.sku).where(shopify_variants.c.channel == channel)
    if variant_ids is not None:
        query = query.where(shopify_variants.c.variant_id.in_(list(variant_ids)))
    return {r.variant_id: r.sku for r in conn.execute(query)}


def inventory_items(conn: Connection, channel: str, skus: Sequence[str] | None = None) -> dict[str, str]:
    """Our SKU → Shopify inventory item id."""
    query = select(shopify_variants.c.sku, shopify_variants.c.inventory_item_id).where(
        shopify_variants.c.channel == channel
    )
    if skus is not None:
        query = query.where(shopify_variants.c.sku.in_(list(skus)))
    return {r.sku: r.inventory_item_id for r in conn.execute(query)}


def sku_of_inventory_item(conn: Connection, channel: str, inventory_item_id: str) -> str | None:
    return conn.execute(
        select(shopify_variants.c.sku).where(
            shopify_variants.c.channel == channel, shopify_variants.c.inventory_item_id == inventory_item_id
        )
    ).scalar_one_or_none()


def linked_skus(conn: Connection, channel: str) -> dict[str, str]:
    """Our SKU → how it was linked."""
    rows = conn.execute(
        select(shopify_variants.c.sku, shopify_variants.c.linked_by).where(shopify_variants.c.channel == channel)
    )
    return {r.sku: r.linked_by for r in rows}


# ---------------------------------------------------------------------- applied documents
def claim_document(conn: Connection, channel: str, kind: str, external_id: str, now: datetime) -> bool:
    """True the first time (channel, kind, external id) is claimed; a concurrent second claim waits on the
    first's row and answers False."""
    values = {"channel": channel, "kind": kind, "external_id": external_id, "document": None, "recorded_at": now}
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(shopify_documents).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(shopify_documents).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt.returning(shopify_documents.c.external_id)).first() is not None


def set_document(conn: Connection, channel: str, kind: str, external_id: str, document: str) -> None:
    conn.execute(
        shopify_documents.update()
        .where(
            shopify_documents.c.channel == channel,
            shopify_documents.c.kind == kind,
            shopify_documents.c.external_id == external_id,
        )
        .values(document=document)
    )


def documents(conn: Connection, channel: str, kind: str) -> dict[str, str | None]:
    rows = conn.execute(
        select(shopify_documents.c.external_id, shopify_documents.c.document).where(
            shopify_documents.c.channel == channel, shopify_documents.c.kind == kind
        )
    )
    return {r.external_id: r.document for r in rows}


# ---------------------------------------------------------------------- drift
def record_drift(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(shopify_drift.insert(), [dict(r) for r in rows])


def drift(conn: Connection, channel: str, *, kind: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    query = select(shopify_drift).where(shopify_drift.c.channel == channel)
    if kind is not None:
        query = query.where(shopify_drift.c.kind == kind)
    return [dict(r) for r in conn.execute(query.order_by(shopify_drift.c.id).limit(limit)).mappings()]


# ---------------------------------------------------------------------- linking
def linkable_skus(conn: Connection, *, after: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Active variants (prepacks are not sold on Shopify) with their style and GTIN, by SKU."""
    query = select(skus.c.sku, skus.c.style_code, skus.c.gtin).where(
        skus.c.status == "active", skus.c.kind == "variant"
    )
    if after is not None:
        query = query.where(skus.c.sku > after)
    return [dict(r) for r in conn.execute(query.order_by(skus.c.sku).limit(limit)).mappings()]


def count_linkable(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(skus).where(skus.c.status == "active", skus.c.kind == "variant")
        ).scalar_one()
    )


def channel_settings(conn: Connection, code: str) -> tuple[str, dict[str, Any]] | None:
    """A channel's kind and settings (the webhook route's one read before it verifies a delivery)."""
    row = conn.execute(select(channels.c.kind, channels.c.settings).where(channels.c.code == code)).first()
    return None if row is None else (str(row.kind), dict(row.settings or {}))


# ---------------------------------------------------------------------- locations
def our_locations(conn: Connection) -> dict[str, str]:
    """Our real (not virtual) locations: code → name."""
    rows = conn.execute(select(locations.c.code, locations.c.name).where(~locations.c.virtual))
    return {r.code: r.name for r in rows}


def link_locations(conn: Connection, channel: str, links: Mapping[str, tuple[str, str | None]], now: datetime) -> int:
    """Record Shopify location id → (our location code, Shopify's name for it)."""
    for location_id, (code, name) in sorted(links.items()):
        values = {"location": code, "name": name, "updated_at": now}
        insert_on_conflict(
            conn,
            shopify_locations,
            ["channel", "location_id"],
            {"channel": channel, "location_id": location_id, **values},
            values,
        )
    return len(links)


def location_codes(conn: Connection, channel: str) -> dict[str, str]:
    """Shopify location id → our location code, as linked."""
    rows = conn.execute(
        select(shopify_locations.c.location_id, shopify_locations.c.location).where(
            shopify_locations.c.channel == channel
        )
    )
    return {r.location_id: r.location for r in rows}
