"""Store tills: offline batches received, the till catalog (per price list, versioned), what each till has
acknowledged, a POS platform's ids for our styles, and count drift seen at a POS."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects import sqlite

from seamline.domain.money import minor_exponent
from seamline.store.tables import (
    channel_catalog_refs,
    locations,
    oversell_exceptions,
    pos_count_drifts,
    pos_sale_extras,
    prices,
    skus,
    styles,
    till_batches,
    till_catalog_acks,
    till_catalog_items,
    till_catalog_versions,
)
from seamline.store.types import driver_time
from seamline.store.upsert import insert_on_conflict


# ------------------------------------------------------------------------------------------------ batches
def claim_batch(
    conn: Connection, location: str, till: str, batch_id: str, body_hash: str, sales: int, now: datetime
) -> dict[str, Any] | None:
    """None when this transaction is the first to receive the batch; else the batch as first received. On
    PostgreSQL a concurrent twin's insert waits for the first to commit, then finds its answer."""
    existing = get_batch(conn, location, till, batch_id)
    if existing is not None:
        return existing
    values = {
        "location": location,
        "till": till,
        "batch_id": batch_id,
        "body_hash": body_hash,
        "answer": None,
        "sales": sales,
        "received_at": now,
    }
    insert_on_conflict(conn, till_batches, ["location", "till", "batch_id"], values, None)
    row = get_batch(conn, location, till, batch_id)
    assert row is not None
    return None if row["answer"] is None else row


def get_batch(conn: Connection, location: str, till: str, batch_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(till_batches).where(
                till_batches.c.location == location, till_batches.c.till == till, till_batches.c.batch_id == batch_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def save_batch_answer(conn: Connection, location: str, till: str, batch_id: str, answer: Any) -> None:
    conn.execute(
        update(till_batches)
        .where(till_batches.c.location == location, till_batches.c.till == till, till_batches.c.batch_id == batch_id)
        .values(answer=answer)
    )


def exceptions_for(conn: Connection, documents: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Oversell exceptions raised by these documents (order ids), by document."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not documents:
        return out
    rows = conn.execute(
        select(
            oversell_exceptions.c.id,
            oversell_exceptions.c.document,
            oversell_exceptions.c.sku,
            oversell_exceptions.c.units,
        )
        .where(oversell_exceptions.c.document.in_(list(documents)))
        .order_by(oversell_exceptions.c.id)
    )
    for r in rows:
        out.setdefault(r.document, []).append({"id": int(r.id), "sku": r.sku, "units": int(r.units)})
    return out


# ------------------------------------------------------------------------------------------------ catalog
def store_locations(conn: Connection) -> list[str]:
    return list(
        conn.execute(select(locations.c.code).where(locations.c.kind == "store").order_by(locations.c.code)).scalars()
    )


def catalog_sources(conn: Connection, style_codes: Iterable[str], price_list: str) -> list[dict[str, Any]]:
    """Every unit SKU (variants, not prepacks) of these styles, with the style's fields and its prices on
    ``price_list``: what a till needs to ring it up."""
    codes = sorted(set(style_codes))
    if not codes:
        return []
    style_rows = {
        r["code"]: r
        for r in conn.execute(
            select(
                styles.c.code, styles.c.name, styles.c.season, styles.c.colours, styles.c.tax_class, styles.c.status
            ).where(styles.c.code.in_(codes))
        ).mappings()
    }
    listed: dict[str, dict[str, str]] = {}
    for p in conn.execute(
        select(prices.c.style_code, prices.c.currency, prices.c.amount).where(
            prices.c.style_code.in_(codes), prices.c.list == price_list
        )
    ):
        cents = Decimal(1).scaleb(-minor_exponent(p.currency))
        listed.setdefault(p.style_code, {})[p.currency] = str(Decimal(p.amount).quantize(cents))
    out: list[dict[str, Any]] = []
    for r in conn.execute(
        select(skus).where(skus.c.style_code.in_(codes), skus.c.kind == "variant").order_by(skus.c.sku)
    ).mappings():
        style = style_rows.get(r["style_code"])
        if style is None:
            continue
        colours = {c["code"]: c["name"] for c in style["colours"] or []}
        out.append(
            {
                "sku": r["sku"],
                "style": r["style_code"],
                "name": style["name"],
                "season": style["season"],
                "colour": r["colour"],
                "colour_name": colours.get(r["colour"], r["colour"]),
                "size": r["size"],
                "fit": r["fit"],
                "gtin": r["gtin"],
                "tax_class": style["tax_class"],
                "status": r["status"] if style["status"] == "active" else style["status"],
                "prices": listed.get(r["style_code"], {}),
            }
        )
    return out


def all_style_codes(conn: Connection) -> list[str]:
    return list(conn.execute(select(styles.c.code).order_by(styles.c.code)).scalars())


def catalog_digests(conn: Connection, price_list: str, sku_codes: Sequence[str]) -> dict[str, str]:
    if not sku_codes:
        return {}
    rows = conn.execute(
        select(till_catalog_items.c.sku, till_catalog_items.c.digest).where(
            till_catalog_items.c.price_list == price_list, till_catalog_items.c.sku.in_(list(sku_codes))
        )
    )
    return {r.sku: r.digest for r in rows}


def bump_version(conn: Connection, price_list: str, now: datetime) -> int:
    """The list's next version. The row update locks it to the end of the transaction, so versions commit
    in order: a till that has read version N has seen every change up to N."""
    insert_on_conflict(
        conn, till_catalog_versions, ["price_list"], {"price_list": price_list, "version": 0, "updated_at": now}, None
    )
    conn.execute(
        update(till_catalog_versions)
        .where(till_catalog_versions.c.price_list == price_list)
        .values(version=till_catalog_versions.c.version + 1, updated_at=now)
    )
    return int(
        conn.execute(
            select(till_catalog_versions.c.version).where(till_catalog_versions.c.price_list == price_list)
        ).scalar_one()
    )


def current_version(conn: Connection, price_list: str) -> int:
    value = conn.execute(
        select(till_catalog_versions.c.version).where(till_catalog_versions.c.price_list == price_list)
    ).scalar_one_or_none()
    return int(value or 0)


def _upsert_items(dialect: Any) -> Any:
    stmt = dialect.insert(till_catalog_items)
    return stmt.on_conflict_do_update(
        index_elements=["price_list", "sku"],
        set_={name: stmt.excluded[name] for name in ("version", "digest", "data", "updated_at")},
    )


_UPSERT_ITEMS_PG = (
    "INSERT INTO till_catalog_items (price_list, sku, version, digest, data, updated_at) "
    "SELECT %b, sku, %b, digest, data, %b "
    "FROM unnest(%b::varchar[], %b::varchar[], %b::json[]) AS t(sku, digest, data) "
    "ON CONFLICT (price_list, sku) DO UPDATE SET version = EXCLUDED.version, digest = EXCLUDED.digest, "
    "data = EXCLUDED.data, updated_at = EXCLUDED.updated_at"
)
# Built once per dialect: an import republishes thousands of SKUs in one transaction (issue 18).
_UPSERT_ITEMS = {"sqlite": _upsert_items(sqlite)}


def save_catalog_items(
    conn: Connection, price_list: str, version: int, items: Sequence[tuple[Mapping[str, Any], str]], now: datetime
) -> None:
    """Store each item's (data, digest) at ``version``, in SKU order: one statement over arrays on PostgreSQL,
    one executemany on SQLite."""
    if not items:
        return
    ordered = sorted(items, key=lambda item: str(item[0]["sku"]))
    if conn.dialect.name == "postgresql":  # one statement over arrays; JSON as the column's serializer writes it
        at = driver_time(now, "postgresql")
        skus_ = [data["sku"] for data, _ in ordered]
        datas = [json.dumps(dict(data)) for data, _ in ordered]
        conn.exec_driver_sql(_UPSERT_ITEMS_PG, (price_list, version, at, skus_, [d for _, d in ordered], datas))
        return
    rows = [
        {
            "price_list": price_list,
            "sku": data["sku"],
            "version": version,
            "digest": digest,
            "data": dict(data),
            "updated_at": now,
        }
        for data, digest in ordered
    ]
    conn.execute(_UPSERT_ITEMS[conn.dialect.name], rows)


def catalog_since(
    conn: Connection, price_list: str, since: int, limit: int, *, after: tuple[int, str] | None = None
) -> list[dict[str, Any]]:
    """Items changed after version ``since``, by (version, SKU); ``after`` continues past a page's last."""
    t = till_catalog_items.c
    query = select(t.sku, t.version, t.data).where(t.price_list == price_list, t.version > since)
    if after is not None:
        query = query.where(or_(t.version > after[0], and_(t.version == after[0], t.sku > after[1])))
    rows = conn.execute(query.order_by(t.version, t.sku).limit(limit)).mappings()
    return [{**dict(r["data"]), "version": int(r["version"])} for r in rows]


def save_ack(conn: Connection, location: str, till: str, version: int, now: datetime) -> None:
    values = {"version": version, "acked_at": now}
    insert_on_conflict(
        conn, till_catalog_acks, ["location", "till"], {"location": location, "till": till, **values}, values
    )


def acks(conn: Connection, location: str | None = None) -> list[dict[str, Any]]:
    query = select(till_catalog_acks).order_by(till_catalog_acks.c.location, till_catalog_acks.c.till)
    if location is not None:
        query = query.where(till_catalog_acks.c.location == location)
    return [dict(r) for r in conn.execute(query).mappings()]


# ------------------------------------------------------------------------------------------------ POS platforms
def catalog_refs(conn: Connection, channel: str, style_code: str | None = None) -> dict[str, dict[str, Any]]:
    """style code -> {refs, style_version} that a POS platform gave for our styles on ``channel``."""
    query = select(channel_catalog_refs).where(channel_catalog_refs.c.channel == channel)
    if style_code is not None:
        query = query.where(channel_catalog_refs.c.style_code == style_code)
    return {
        r["style_code"]: {"refs": r["refs"], "style_version": int(r["style_version"])}
        for r in conn.execute(query).mappings()
    }


def catalog_refs_version(conn: Connection, channel: str) -> tuple[int, int, Any]:
    """How many styles the platform holds ids for on ``channel``, the sum of their versions and when the
    last was pushed: changes whenever the refs do (a push saves a newer style version), for a cache."""
    c = channel_catalog_refs.c
    query = select(func.count(), func.sum(c.style_version), func.max(c.pushed_at)).where(c.channel == channel)
    row = conn.execute(query).one()
    return int(row[0]), int(row[1] or 0), row[2]


def save_catalog_refs(
    conn: Connection, channel: str, style_code: str, refs: Mapping[str, Any], style_version: int, now: datetime
) -> None:
    values = {"refs": dict(refs), "style_version": style_version, "pushed_at": now}
    insert_on_conflict(
        conn,
        channel_catalog_refs,
        ["channel", "style_code"],
        {"channel": channel, "style_code": style_code, **values},
        values,
    )


def record_drift(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(pos_count_drifts.insert().values(**values))


def drifts(conn: Connection, location: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(pos_count_drifts).order_by(pos_count_drifts.c.id.desc()).limit(limit)
    if location is not None:
        query = query.where(pos_count_drifts.c.location == location)
    return [dict(r) for r in conn.execute(query).mappings()]


def pending_drifts(conn: Connection, channel: str, limit: int = 500) -> list[dict[str, Any]]:
    t = pos_count_drifts.c
    query = select(pos_count_drifts).where(t.channel == channel, t.repushed.is_(False)).order_by(t.id).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def mark_repushed(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(update(pos_count_drifts).where(pos_count_drifts.c.id.in_(list(ids))).values(repushed=True))


def stale_style_codes(conn: Connection, channel: str, limit: int) -> list[str]:
    """Styles the platform on ``channel`` has not been given in their current version (never, or older)."""
    refs = channel_catalog_refs.c
    query = (
        select(styles.c.code)
        .select_from(
            styles.outerjoin(channel_catalog_refs, and_(refs.style_code == styles.c.code, refs.channel == channel))
        )
        .where(or_(refs.style_version.is_(None), refs.style_version < styles.c.version))
        .order_by(styles.c.code)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


# ------------------------------------------------------------------------------------------------ extras
def record_sale_extras(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep the non-stock parts of a till order; a part already kept (same channel, order and uid) is left
    as it is, so a repeated notification has one effect."""
    for row in rows:
        insert_on_conflict(conn, pos_sale_extras, ("channel", "external_id", "uid"), row, None)


def sale_extras(
    conn: Connection, *, location: str | None = None, external_ids: Sequence[str] | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    t = pos_sale_extras.c
    query = select(pos_sale_extras).order_by(t.occurred_at, t.external_id, t.uid).limit(limit)
    if location is not None:
        query = query.where(t.location == location)
    if external_ids is not None:
        query = query.where(t.external_id.in_(list(external_ids)))
    return [dict(r) for r in conn.execute(query).mappings()]
