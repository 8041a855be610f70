"""Reading and writing the product master."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from seamline.catalog.content import content_from_json
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.domain.money import minor_exponent
from seamline.store.tables import prepack_components, prices, skus, styles
from seamline.store.upsert import insert_on_conflict

#: ``Connection.info`` key: the style codes this transaction saved (read by before-commit hooks).
STYLES_SAVED = "seamline.catalog.styles_saved"


def get_style(conn: Connection, code: str, *, for_update: bool = False) -> Style | None:
    query = select(styles).where(styles.c.code == code)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    sku_rows = (
        conn.execute(select(skus).where(skus.c.style_code == code, skus.c.status == "active").order_by(skus.c.position))
        .mappings()
        .all()
    )
    variants = [
        Variant(r["sku"], r["colour"], r["size"], r["gtin"], r["fit"]) for r in sku_rows if r["kind"] == "variant"
    ]
    pack_rows = [r for r in sku_rows if r["kind"] == "prepack"]
    comps: dict[str, list[PrepackComponent]] = {}
    if pack_rows:
        for c in conn.execute(
            select(prepack_components)
            .where(prepack_components.c.pack_sku.in_([r["sku"] for r in pack_rows]))
            .order_by(prepack_components.c.pack_sku, prepack_components.c.component_sku)
        ).mappings():
            comps.setdefault(c["pack_sku"], []).append(PrepackComponent(c["component_sku"], c["units"]))
    price_rows = conn.execute(
        select(prices).where(prices.c.style_code == code).order_by(prices.c.list, prices.c.currency)
    ).mappings()
    return Style(
        code=row["code"],
        name=row["name"],
        season=row["season"],
        category=row["category"],
        size_scale=tuple(row["size_scale"]),
        colours=tuple(Colour(c["code"], c["name"]) for c in row["colours"]),
        variants=tuple(variants),
        prepacks=tuple(Prepack(r["sku"], r["gtin"], tuple(comps.get(r["sku"], []))) for r in pack_rows),
        prices=tuple(
            Price(
                p["list"],
                p["currency"],
                Decimal(p["amount"]).quantize(Decimal(1).scaleb(-minor_exponent(p["currency"]))),
            )
            for p in price_rows
        ),
        fits=tuple(row["fits"]),
        tax_class=row["tax_class"],
        status=row["status"],
        attributes=dict(row["attributes"]),
        version=row["version"],
        content=content_from_json(row.get("content")),
    )


def gtin_owners(conn: Connection, gtins: Iterable[str]) -> dict[str, tuple[str, str]]:
    """GTIN -> (sku, style) for GTINs already taken."""
    wanted = list(gtins)
    if not wanted:
        return {}
    rows = conn.execute(select(skus.c.gtin, skus.c.sku, skus.c.style_code).where(skus.c.gtin.in_(wanted)))
    return {r.gtin: (r.sku, r.style_code) for r in rows}


def sku_owners(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """SKU -> style for SKUs that exist."""
    wanted = list(codes)
    if not wanted:
        return {}
    return {
        r.sku: r.style_code for r in conn.execute(select(skus.c.sku, skus.c.style_code).where(skus.c.sku.in_(wanted)))
    }


def save_style(conn: Connection, style: Style, now: datetime) -> None:
    """Write a validated style. SKUs dropped from the definition are discontinued, never deleted:
    movements reference them forever."""
    conn.info.setdefault(STYLES_SAVED, set()).add(style.code)  # the till catalog republishes these
    row: dict[str, Any] = {
        "name": style.name,
        "season": style.season,
        "category": style.category,
        "size_scale": list(style.size_scale),
        "fits": list(style.fits),
        "colours": [{"code": c.code, "name": c.name} for c in style.colours],
        "attributes": style.attributes,
        "content": None if style.content.empty else style.content.as_json(),
        "tax_class": style.tax_class,
        "status": style.status,
        "version": style.version,
        "updated_at": now,
    }
    insert_on_conflict(conn, styles, ["code"], {"code": style.code, **row}, row)
    existing = {r.sku for r in conn.execute(select(skus.c.sku).where(skus.c.style_code == style.code))}
    keep: set[str] = set()
    # Free GTINs first, so a GTIN moving from one SKU to another in the same style does not clash.
    conn.execute(update(skus).where(skus.c.style_code == style.code).values(gtin=None))
    position = 0
    for variant in style.sorted_variants():
        values = {
            "style_code": style.code,
            "kind": "variant",
            "colour": variant.colour,
            "size": variant.size,
            "fit": variant.fit,
            "gtin": variant.gtin,
            "status": "active",
            "position": position,
        }
        insert_on_conflict(conn, skus, ["sku"], {"sku": variant.sku, **values}, values)
        keep.add(variant.sku)
        position += 1
    for pack in style.prepacks:
        values = {
            "style_code": style.code,
            "kind": "prepack",
            "colour": None,
            "size": None,
            "fit": None,
            "gtin": pack.gtin,
            "status": "active",
            "position": position,
        }
        insert_on_conflict(conn, skus, ["sku"], {"sku": pack.sku, **values}, values)
        conn.execute(prepack_components.delete().where(prepack_components.c.pack_sku == pack.sku))
        for comp in pack.components:
            conn.execute(
                prepack_components.insert().values(pack_sku=pack.sku, component_sku=comp.sku, units=comp.units)
            )
        keep.add(pack.sku)
        position += 1
    gone = existing - keep
    if gone:
        conn.execute(update(skus).where(skus.c.sku.in_(sorted(gone))).values(status="discontinued"))
    conn.execute(prices.delete().where(prices.c.style_code == style.code))
    for price in style.prices:
        conn.execute(
            prices.insert().values(style_code=style.code, list=price.list, currency=price.currency, amount=price.amount)
        )


def style_codes(
    conn: Connection, *, season: str | None = None, after: str | None = None, limit: int = 100
) -> list[str]:
    """A page of style codes in code order (``after`` the last one of the previous page)."""
    query = select(styles.c.code).order_by(styles.c.code).limit(limit)
    if season is not None:
        query = query.where(styles.c.season == season)
    if after is not None:
        query = query.where(styles.c.code > after)
    return [str(code) for code in conn.execute(query).scalars()]


def style_versions(conn: Connection) -> list[tuple[str, int, str]]:
    """Every style's (code, version, status), in code order: what a newly wired channel is compared with."""
    rows = conn.execute(select(styles.c.code, styles.c.version, styles.c.status).order_by(styles.c.code))
    return [(r.code, int(r.version), str(r.status)) for r in rows]


def get_sku(conn: Connection, sku: str) -> dict[str, Any] | None:
    row = conn.execute(select(skus).where(skus.c.sku == sku)).mappings().first()
    return dict(row) if row else None


def prepack_map(conn: Connection, pack_skus: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """pack SKU -> [(component SKU, units)] for the given SKUs that are prepacks."""
    wanted = list(pack_skus)
    out: dict[str, list[tuple[str, int]]] = {}
    if not wanted:
        return out
    for r in conn.execute(
        select(prepack_components)
        .where(prepack_components.c.pack_sku.in_(wanted))
        .order_by(prepack_components.c.pack_sku, prepack_components.c.component_sku)
    ):
        out.setdefault(r.pack_sku, []).append((r.component_sku, r.units))
    return out


def known_skus(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """SKU -> kind (variant | prepack) for those that exist."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        # One statement text whatever the number of SKUs (an IN list has a text per length), so the driver
        # prepares it once and the server plans it once: this runs for every sale, order and single hold.
        return {str(sku): str(kind) for sku, kind in conn.exec_driver_sql(_KNOWN_SKUS_PG, (wanted,))}
    return {r.sku: r.kind for r in conn.execute(_KNOWN_SKUS, {"wanted": wanted})}


_KNOWN_SKUS = select(skus.c.sku, skus.c.kind).where(skus.c.sku.in_(bindparam("wanted", expanding=True)))
_KNOWN_SKUS_PG = "SELECT sku, kind FROM skus WHERE sku = ANY(%b::varchar[])"


def skus_of_style(conn: Connection, style: str) -> list[str]:
    return [
        r.sku
        for r in conn.execute(
            select(skus.c.sku).where(skus.c.style_code == style, skus.c.status == "active").order_by(skus.c.position)
        )
    ]


def active_skus(conn: Connection, *, after: str | None = None, limit: int = 500) -> list[str]:
    query = select(skus.c.sku).where(skus.c.status == "active")
    if after is not None:
        query = query.where(skus.c.sku > after)
    return [r.sku for r in conn.execute(query.order_by(skus.c.sku).limit(limit))]
