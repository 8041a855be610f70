"""Channel policies (DESIGN 4.4): sources, safety stock, per-SKU overrides, ring-fences, pause threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from seamline.ledger.atp import ChannelPolicy
from seamline.store.tables import channel_sku_policies, channels
from seamline.store.upsert import insert_on_conflict


def get_channel(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(channels).where(channels.c.code == code)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["sku_policies"] = {
        r.sku: {"safety_stock": r.safety_stock, "ring_fence": r.ring_fence}
        for r in conn.execute(select(channel_sku_policies).where(channel_sku_policies.c.channel == code))
    }
    return out


def list_channels(conn: Connection) -> list[dict[str, Any]]:
    """Every channel in code order, with its per-SKU policies (as ``get_channel`` answers one)."""
    policies: dict[str, dict[str, dict[str, Any]]] = {}
    for r in conn.execute(select(channel_sku_policies)):
        policies.setdefault(r.channel, {})[r.sku] = {"safety_stock": r.safety_stock, "ring_fence": r.ring_fence}
    rows = conn.execute(select(channels).order_by(channels.c.code)).mappings()
    return [{**dict(row), "sku_policies": policies.get(row["code"], {})} for row in rows]


def save_channel(
    conn: Connection,
    code: str,
    values: Mapping[str, Any],
    sku_policies: Mapping[str, tuple[int | None, int]],
    now: datetime,
) -> None:
    row = {**values, "updated_at": now}
    insert_on_conflict(conn, channels, ["code"], {"code": code, **row}, row)
    conn.execute(channel_sku_policies.delete().where(channel_sku_policies.c.channel == code))
    if sku_policies:
        conn.execute(
            channel_sku_policies.insert(),
            [
                {"channel": code, "sku": sku, "safety_stock": safety, "ring_fence": fence}
                for sku, (safety, fence) in sorted(sku_policies.items())
            ],
        )


def sourcing(conn: Connection, code: str) -> tuple[list[str], bool] | None:
    """A channel's ordered sources and whether a line may be split across them, or None if unknown.

    The hold path needs only this, not the per-SKU policy table (which can have a row per SKU)."""
    row = conn.execute(select(channels.c.sources, channels.c.allow_split).where(channels.c.code == code)).first()
    return None if row is None else (list(row.sources), bool(row.allow_split))


def kind_and_sources(conn: Connection, code: str) -> tuple[str, list[str]] | None:
    """A channel's kind and sources, or None if unknown: whether it is a store's till channel (token scopes)."""
    row = conn.execute(select(channels.c.kind, channels.c.sources).where(channels.c.code == code)).first()
    return None if row is None else (str(row.kind), list(row.sources))


def policies(
    conn: Connection,
    skus: Sequence[str] | None = None,
    *,
    sku_range: tuple[str | None, str] | None = None,
    extra_skus: Sequence[str] = (),
) -> list[ChannelPolicy]:
    """Every channel's policy: ATP for one channel needs the others' ring-fences.

    ``skus`` limits the per-SKU overrides loaded to those SKUs (a page of availability, not the catalog);
    ``sku_range`` (after, last] to the SKUs of that range and ``extra_skus`` (a whole-catalog export's page)."""
    overrides: dict[str, dict[str, int]] = {}
    fences: dict[str, dict[str, int]] = {}
    if sku_range is not None:
        after, last = sku_range
        query = select(channel_sku_policies).where(channel_sku_policies.c.sku <= last)
        if after is not None:
            query = query.where(channel_sku_policies.c.sku > after)
        rows = list(conn.execute(query))
        if extra_skus:
            rows += list(conn.execute(_SKU_POLICIES_OF, {"skus": list(extra_skus)}))
    elif skus is None:
        rows = list(conn.execute(_ALL_SKU_POLICIES))
    else:
        rows = list(conn.execute(_SKU_POLICIES_OF, {"skus": list(skus)}))
    for r in rows:
        if r.safety_stock is not None:
            overrides.setdefault(r.channel, {})[r.sku] = r.safety_stock
        if r.ring_fence:
            fences.setdefault(r.channel, {})[r.sku] = r.ring_fence
    return [
        ChannelPolicy(
            code=r.code,
            kind=r.kind,
            sources=tuple(r.sources),
            safety_stock=r.safety_stock,
            pause_below=r.pause_below,
            safety_overrides=overrides.get(r.code, {}),
            ring_fences=fences.get(r.code, {}),
        )
        for r in conn.execute(_CHANNELS_BY_CODE)
    ]


# Built once: the availability publisher reads the policies for every burst of writes.
_ALL_SKU_POLICIES = select(channel_sku_policies)
_SKU_POLICIES_OF = select(channel_sku_policies).where(channel_sku_policies.c.sku.in_(bindparam("skus", expanding=True)))
_CHANNELS_BY_CODE = select(channels).order_by(channels.c.code)


def connector_configs(conn: Connection) -> list[dict[str, Any]]:
    """Every channel's code, kind, sources and settings: what the connector wiring builds subscribers from."""
    rows = conn.execute(
        select(channels.c.code, channels.c.kind, channels.c.sources, channels.c.settings).order_by(channels.c.code)
    ).mappings()
    return [dict(r) for r in rows]
