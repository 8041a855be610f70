"""Reading and writing the product master."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from seamline.catalog.content import content_from_json
from seamline.catalog.events import StyleSaved
from seamline.catalog.model import Colour, Prepack, PrepackComponent, Price, Style, Variant
from seamline.domain.money import minor_exponent
from seamline.store.tables import prepack_components, prices, skus, styles
from seamline.store.upsert import insert_on_conflict
from seamline.store.work import Work


def get_style(conn: Connection, code: str, *, for_update: bool = False) -> Style | None:
    return get_styles(conn, [code], for_update=for_update).get(code)


#: Keys per IN list: far below any SQLite build's variable limit, and a statement text PostgreSQL sees often.
IN_CHUNK = 500


def _chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def get_styles(conn: Connection, codes: Iterable[str], *, for_update: bool = False) -> dict[str, Style]:
    """code -> Style for those of ``codes`` that exist, in four statements per chunk of codes (not four per
    style). ``for_update`` locks the style rows (PostgreSQL), in code order so two importers never deadlock."""
    wanted = sorted(set(codes))
    out: dict[str, Style] = {}
    for chunk in _chunks(wanted):
        query = select(styles).where(styles.c.code.in_(chunk)).order_by(styles.c.code)
        if for_update and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        style_rows = conn.execute(query).mappings().all()
        if not style_rows:
            continue
        found = [r["code"] for r in style_rows]
        sku_rows: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(
            select(skus)
            .where(skus.c.style_code.in_(found), skus.c.status == "active")
            .order_by(skus.c.style_code, skus.c.position)
        ).mappings():
            sku_rows[r["style_code"]].append(r)
        pack_skus = [r["sku"] for rows in sku_rows.values() for r in rows if r["kind"] == "prepack"]
        comps: dict[str, list[PrepackComponent]] = {}
        for pack_chunk in _chunks(pack_skus):
            for c in conn.execute(
                select(prepack_components)
                .where(prepack_components.c.pack_sku.in_(pack_chunk))
                .order_by(prepack_components.c.pack_sku, prepack_components.c.component_sku)
            ).mappings():
                comps.setdefault(c["pack_sku"], []).append(PrepackComponent(c["component_sku"], c["units"]))
        price_rows: dict[str, list[Price]] = defaultdict(list)
        for p in conn.execute(
            select(prices)
            .where(prices.c.style_code.in_(found))
            .order_by(prices.c.style_code, prices.c.list, prices.c.currency)
        ).mappings():
            amount = Decimal(p["amount"]).quantize(Decimal(1).scaleb(-minor_exponent(p["currency"])))
            price_rows[p["style_code"]].append(Price(p["list"], p["currency"], amount))
        for row in style_rows:
            code = row["code"]
            rows = sku_rows.get(code, [])
            out[code] = Style(
                code=code,
                name=row["name"],
                season=row["season"],
                category=row["category"],
                size_scale=tuple(row["size_scale"]),
                colours=tuple(Colour(c["code"], c["name"]) for c in row["colours"]),
                variants=tuple(
                    Variant(r["sku"], r["colour"], r["size"], r["gtin"], r["fit"])
                    for r in rows
                    if r["kind"] == "variant"
                ),
                prepacks=tuple(
                    Prepack(r["sku"], r["gtin"], tuple(comps.get(r["sku"], []))) for r in rows if r["kind"] == "prepack"
                ),
                prices=tuple(price_rows.get(code, [])),
                fits=tuple(row["fits"]),
                tax_class=row["tax_class"],
                status=row["status"],
                attributes=dict(row["attributes"]),
                version=row["version"],
                content=content_from_json(row.get("content")),
            )
    return out


_GTIN_OWNERS_PG = "SELECT gtin, sku, style_code FROM skus WHERE gtin = ANY(%b::varchar[])"
_SKU_OWNERS_PG = "SELECT sku, style_code FROM skus WHERE sku = ANY(%b::varchar[])"
# The SKUs of an import's chunk in one statement over arrays (executemany pipelines a statement per row).
_UPSERT_SKUS_PG = (
    "INSERT INTO skus (sku, style_code, kind, colour, size, fit, gtin, status, position) "
    "SELECT * FROM unnest(%b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[], "
    "%b::varchar[], %b::varchar[], %b::varchar[], %b::int[]) "
    "ON CONFLICT (sku) DO UPDATE SET style_code = EXCLUDED.style_code, kind = EXCLUDED.kind, "
    "colour = EXCLUDED.colour, size = EXCLUDED.size, fit = EXCLUDED.fit, gtin = EXCLUDED.gtin, "
    "status = EXCLUDED.status, position = EXCLUDED.position"
)
_SKU_COLUMNS = ("sku", "style_code", "kind", "colour", "size", "fit", "gtin", "status", "position")


def gtin_owners(conn: Connection, gtins: Iterable[str]) -> dict[str, tuple[str, str]]:
    """GTIN -> (sku, style) for GTINs already taken."""
    out: dict[str, tuple[str, str]] = {}
    if conn.dialect.name == "postgresql":  # one statement over an array: no IN list for the driver to parse
        rows = conn.exec_driver_sql(_GTIN_OWNERS_PG, (sorted(set(gtins)),))
        return {gtin: (sku, style) for gtin, sku, style in rows}
    for chunk in _chunks(sorted(set(gtins))):
        rows = conn.execute(select(skus.c.gtin, skus.c.sku, skus.c.style_code).where(skus.c.gtin.in_(chunk)))
        out.update({r.gtin: (r.sku, r.style_code) for r in rows})
    return out


def sku_owners(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """SKU -> style for SKUs that exist."""
    out: dict[str, str] = {}
    if conn.dialect.name == "postgresql":
        return {str(sku): str(style) for sku, style in conn.exec_driver_sql(_SKU_OWNERS_PG, (sorted(set(codes)),))}
    for chunk in _chunks(sorted(set(codes))):
        rows = conn.execute(select(skus.c.sku, skus.c.style_code).where(skus.c.sku.in_(chunk)))
        out.update({r.sku: r.style_code for r in rows})
    return out


def _style_row(style: Style, now: datetime) -> dict[str, Any]:
    """A style's ``styles`` row without its code: one shape for the single save and the chunked one."""
    return {
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


def save_style(uow: Work, style: Style, now: datetime) -> None:
    """Write a validated style. SKUs dropped from the definition are discontinued, never deleted:
    movements reference them forever."""
    conn = uow.conn
    uow.raise_event(StyleSaved(style.code))
    row = _style_row(style, now)
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


def _upsert_statement(dialect: Any, table: Any, key: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE every other column to the new row's: for executemany."""
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    )


# Built once per dialect: a statement's construction costs more Python than its execution (issue 18's profile).
_UPSERT_STYLES = {d.dialect.name: _upsert_statement(d, styles, ["code"]) for d in (postgresql, sqlite)}
_UPSERT_SKUS = {"sqlite": _upsert_statement(sqlite, skus, ["sku"])}
_SKUS_OF_STYLES = select(skus.c.sku, skus.c.style_code).where(skus.c.style_code.in_(bindparam("codes", expanding=True)))
_FREE_GTINS = update(skus).where(skus.c.style_code.in_(bindparam("codes", expanding=True))).values(gtin=None)
_DISCONTINUE = update(skus).where(skus.c.sku.in_(bindparam("codes", expanding=True))).values(status="discontinued")
_DELETE_COMPONENTS = prepack_components.delete().where(
    prepack_components.c.pack_sku.in_(bindparam("codes", expanding=True))
)
_DELETE_PRICES = prices.delete().where(prices.c.style_code.in_(bindparam("codes", expanding=True)))


def save_styles(uow: Work, saved: Sequence[Style], now: datetime) -> None:
    """``save_style`` for many validated styles in a few statements per chunk (executemany, never a round trip
    per row): the same rows, the same discontinued SKUs, the same ``StyleSaved`` events.

    Every GTIN of these styles is freed before any is assigned, so a GTIN moving between two of them, or
    within one, never clashes; the caller has checked that the result is free of clashes (``put_styles``)."""
    conn = uow.conn
    if not saved:
        return
    dialect = conn.dialect.name
    for style in saved:
        uow.raise_event(StyleSaved(style.code))
    codes = sorted(s.code for s in saved)
    conn.execute(
        _UPSERT_STYLES[dialect],
        [{"code": style.code, **_style_row(style, now)} for style in sorted(saved, key=lambda s: s.code)],
    )
    existing: set[str] = set()
    for chunk in _chunks(codes):
        existing.update(r.sku for r in conn.execute(_SKUS_OF_STYLES, {"codes": chunk}))
        conn.execute(_FREE_GTINS, {"codes": chunk})
    sku_rows: list[dict[str, Any]] = []
    components: list[dict[str, Any]] = []
    price_rows: list[dict[str, Any]] = []
    for style in saved:
        position = 0
        for variant in style.sorted_variants():
            sku_rows.append(
                {
                    "sku": variant.sku,
                    "style_code": style.code,
                    "kind": "variant",
                    "colour": variant.colour,
                    "size": variant.size,
                    "fit": variant.fit,
                    "gtin": variant.gtin,
                    "status": "active",
                    "position": position,
                }
            )
            position += 1
        for pack in style.prepacks:
            sku_rows.append(
                {
                    "sku": pack.sku,
                    "style_code": style.code,
                    "kind": "prepack",
                    "colour": None,
                    "size": None,
                    "fit": None,
                    "gtin": pack.gtin,
                    "status": "active",
                    "position": position,
                }
            )
            components += [{"pack_sku": pack.sku, "component_sku": c.sku, "units": c.units} for c in pack.components]
            position += 1
        price_rows += [
            {"style_code": style.code, "list": p.list, "currency": p.currency, "amount": p.amount} for p in style.prices
        ]
    sku_rows.sort(key=lambda r: r["sku"])  # key order: concurrent importers lock rows in one order
    if dialect == "postgresql":
        conn.exec_driver_sql(_UPSERT_SKUS_PG, tuple([r[c] for r in sku_rows] for c in _SKU_COLUMNS))
    else:
        conn.execute(_UPSERT_SKUS[dialect], sku_rows)
    gone = sorted(existing - {r["sku"] for r in sku_rows})
    for chunk in _chunks(gone):
        conn.execute(_DISCONTINUE, {"codes": chunk})
    packs = sorted({c["pack_sku"] for c in components} | {r["sku"] for r in sku_rows if r["kind"] == "prepack"})
    for chunk in _chunks(packs):
        conn.execute(_DELETE_COMPONENTS, {"codes": chunk})
    if components:
        conn.execute(prepack_components.insert(), components)
    for chunk in _chunks(codes):
        conn.execute(_DELETE_PRICES, {"codes": chunk})
    if price_rows:
        conn.execute(prices.insert(), price_rows)


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


def style_states(conn: Connection, codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    """code -> (version, status) of those of ``codes`` that exist: what a StyleChanged announces."""
    out: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(sorted(set(codes))):
        query = select(styles.c.code, styles.c.version, styles.c.status).where(styles.c.code.in_(chunk))
        out.update({r.code: (int(r.version), str(r.status)) for r in conn.execute(query)})
    return out


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
    if len(wanted) > _KNOWN_SKUS_JSON_FROM:
        # A receipt's 100k SKUs: one JSON array parameter, not an IN list of 100k parameters (whose
        # expansion was a quarter of a receipt's time on SQLite).
        return {str(sku): str(kind) for sku, kind in conn.exec_driver_sql(_KNOWN_SKUS_JSON, (json.dumps(wanted),))}
    return {r.sku: r.kind for r in conn.execute(_KNOWN_SKUS, {"wanted": wanted})}


_KNOWN_SKUS = select(skus.c.sku, skus.c.kind).where(skus.c.sku.in_(bindparam("wanted", expanding=True)))
_KNOWN_SKUS_PG = "SELECT sku, kind FROM skus WHERE sku = ANY(%b::varchar[])"
_KNOWN_SKUS_JSON = "SELECT sku, kind FROM skus WHERE sku IN (SELECT value FROM json_each(?))"
_KNOWN_SKUS_JSON_FROM = 500


def skus_of_style(conn: Connection, style: str) -> list[str]:
    return [
        r.sku
        for r in conn.execute(
            select(skus.c.sku).where(skus.c.style_code == style, skus.c.status == "active").order_by(skus.c.position)
        )
    ]


def active_skus_with_kinds(conn: Connection, *, after: str | None = None, limit: int = 500) -> list[tuple[str, str]]:
    """(sku, kind) of active SKUs in code order after ``after``: a page of a whole-catalog export."""
    query = select(skus.c.sku, skus.c.kind).where(skus.c.status == "active")
    if after is not None:
        query = query.where(skus.c.sku > after)
    return [(str(r[0]), str(r[1])) for r in conn.execute(query.order_by(skus.c.sku).limit(limit))]


def active_skus(conn: Connection, *, after: str | None = None, limit: int = 500) -> list[str]:
    query = select(skus.c.sku).where(skus.c.status == "active")
    if after is not None:
        query = query.where(skus.c.sku > after)
    return [r.sku for r in conn.execute(query.order_by(skus.c.sku).limit(limit))]
