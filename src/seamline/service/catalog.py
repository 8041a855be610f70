"""The product master: styles, their variants and prepacks, kept unique across the catalog."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy import Connection

from seamline.catalog import Style, StyleDraft, build_style, same_definition
from seamline.catalog.model import Variant
from seamline.catalog.rules import CODE_RE, catalog_clashes, style_codes_of
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.service.transactions import Part
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo


class StyleView(TypedDict):
    """A style as the API answers it (``StyleOut``): the PUT's answer equals the GET's."""

    code: str
    name: str
    season: str | None
    category: str | None
    size_scale: list[str]
    fits: list[str]
    colours: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    prepacks: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    tax_class: str | None
    status: str
    attributes: dict[str, Any]
    content: dict[str, Any] | None
    version: int


class SkuView(TypedDict):
    """One SKU with its style's names and prices (``GET /v1/skus/{sku}``); a prepack lists its components."""

    sku: str
    kind: str
    status: str
    style: dict[str, Any]
    colour: str | None
    colour_name: str | None
    size: str | None
    fit: str | None
    gtin: str | None
    prices: list[dict[str, Any]]
    components: NotRequired[list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class StylePut:
    """A style saved by its code: ``unchanged`` when the definition was identical (nothing was written, not
    even the version)."""

    outcome: Literal["created", "updated", "unchanged"]
    style: Style

    @property
    def created(self) -> bool:
        return self.outcome == "created"


class Catalog(Part):
    def put_style(self, uow: UnitOfWork, draft: StyleDraft) -> StylePut:
        """Create or replace a style; answers ``created``, ``updated`` or ``unchanged``.

        An identical definition changes nothing, not even the version, so re-importing a file is free.
        """
        conn = uow.conn
        style = build_style(draft)
        current = catalog_repo.get_style(conn, style.code, for_update=True)
        self._check_global_uniqueness(conn, style)
        if current is not None and same_definition(current, style):
            return StylePut("unchanged", current)
        version = 1 if current is None else current.version + 1
        saved = replace(style, version=version)
        catalog_repo.save_style(uow, saved, self.clock.now())
        return StylePut("created" if current is None else "updated", saved)

    def _check_global_uniqueness(self, conn: Connection, style: Style) -> None:
        skus, gtins = style_codes_of(style)
        errors = catalog_clashes(style, catalog_repo.gtin_owners(conn, gtins), catalog_repo.sku_owners(conn, skus))
        if errors:
            raise InvalidInput(f"style {style.code} clashes with the catalog", errors, code="catalog-conflict")

    def put_styles(self, uow: UnitOfWork, styles: Sequence[Style]) -> list[StylePut | InvalidInput]:
        """``put_style`` for many validated styles at once, in a few statements: for each style, in order,
        a ``StylePut`` or the InvalidInput ``put_style`` would have raised (a clash with the catalog),
        and that style is not written. Each style sees the catalog as the styles before it left it (a GTIN
        freed by an earlier style of the batch may be taken by a later one), exactly as one ``put_style``
        per style in this order would. Style codes must be distinct."""
        conn = uow.conn
        codes = [style.code for style in styles]
        if len(set(codes)) != len(codes):
            raise ValueError("put_styles needs distinct style codes")
        current = catalog_repo.get_styles(conn, codes, for_update=True)
        wanted_skus: list[str] = []
        wanted_gtins: list[str] = []
        for style in styles:
            skus, gtins = style_codes_of(style)
            wanted_skus += skus
            wanted_gtins += gtins
        # What the database holds for the GTINs and SKUs this batch names, kept up to date as each style is
        # saved: the state the next style's checks would read, without a round trip per style.
        gtin_owners = catalog_repo.gtin_owners(conn, set(wanted_gtins))
        sku_owners = catalog_repo.sku_owners(conn, set(wanted_skus))
        gtins_of_style: dict[str, set[str]] = defaultdict(set)
        for gtin, (_, owner_style) in gtin_owners.items():
            gtins_of_style[owner_style].add(gtin)
        out: list[StylePut | InvalidInput] = []
        to_save: list[Style] = []
        for style in styles:
            errors = catalog_clashes(style, gtin_owners, sku_owners)
            if errors:
                out.append(
                    InvalidInput(f"style {style.code} clashes with the catalog", errors, code="catalog-conflict")
                )
                continue
            existing = current.get(style.code)
            if existing is not None and same_definition(existing, style):
                out.append(StylePut("unchanged", existing))
                continue
            saved = replace(style, version=1 if existing is None else existing.version + 1)
            to_save.append(saved)
            out.append(StylePut("created" if existing is None else "updated", saved))
            for freed in gtins_of_style.pop(style.code, set()):  # saving frees the style's GTINs first
                gtin_owners.pop(freed, None)
            claims = [(v.sku, v.gtin) for v in saved.variants] + [(p.sku, p.gtin) for p in saved.prepacks]
            for sku, claimed in claims:
                sku_owners[sku] = style.code
                if claimed:
                    gtin_owners[claimed] = (sku, style.code)
                    gtins_of_style[style.code].add(claimed)
        catalog_repo.save_styles(uow, to_save, self.clock.now())
        return out

    def get_style(self, code: str) -> Style:
        style = self.read(lambda conn: catalog_repo.get_style(conn, code))
        if style is None:
            raise NotFound(f"no style {code}", code="unknown-style")
        return style

    def list_styles(
        self, *, season: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[Style], str | None]:
        """A page of styles in code order; ``next_cursor`` (the page's last code) continues it, None at the end."""
        if cursor is not None and not catalog_code_ok(cursor):
            raise InvalidInput("bad cursor", [FieldError("cursor", "is not a cursor this API gave out")])

        def work(conn: Connection) -> list[Style]:
            codes = catalog_repo.style_codes(conn, season=season, after=cursor, limit=limit)
            return [style for code in codes if (style := catalog_repo.get_style(conn, code)) is not None]

        found = self.read(work)
        return found, (found[-1].code if len(found) == limit else None)

    def get_sku(self, sku: str) -> SkuView:
        def work(conn: Connection) -> SkuView:
            row = catalog_repo.get_sku(conn, sku)
            if row is None:
                raise NotFound(f"no SKU {sku}", code="unknown-sku")
            style = catalog_repo.get_style(conn, row["style_code"])
            assert style is not None
            out: SkuView = {
                "sku": row["sku"],
                "kind": row["kind"],
                "status": row["status"],
                "style": {"code": style.code, "name": style.name, "season": style.season, "version": style.version},
                "colour": row["colour"],
                "colour_name": next((c.name for c in style.colours if c.code == row["colour"]), None),
                "size": row["size"],
                "fit": row["fit"],
                "gtin": row["gtin"],
                "prices": [{"list": p.list, "currency": p.currency, "amount": str(p.amount)} for p in style.prices],
            }
            if row["kind"] == "prepack":
                comps = catalog_repo.prepack_map(conn, [sku]).get(sku, [])
                out["components"] = [{"sku": s, "units": u} for s, u in comps]
            return out

        return self.read(work)


def catalog_code_ok(code: str) -> bool:
    return bool(CODE_RE.match(code))


def style_view(style: Style) -> StyleView:
    def variant(v: Variant) -> dict[str, Any]:
        return {"sku": v.sku, "colour": v.colour, "size": v.size, "fit": v.fit, "gtin": v.gtin}

    # One order whether the style comes from a request or from storage: the PUT answer equals the GET.
    grid = [v.sku for v in style.sorted_variants()]
    rank = {sku: i for i, sku in enumerate(grid)}
    return {
        "code": style.code,
        "name": style.name,
        "season": style.season,
        "category": style.category,
        "size_scale": list(style.size_scale),
        "fits": list(style.fits),
        "colours": [{"code": c.code, "name": c.name} for c in style.colours],
        "variants": [variant(v) for v in style.sorted_variants()],
        "prepacks": [
            {
                "sku": p.sku,
                "gtin": p.gtin,
                "units": p.units,
                "components": [
                    {"sku": c.sku, "units": c.units}
                    for c in sorted(p.components, key=lambda c: (rank.get(c.sku, len(rank)), c.sku))
                ],
            }
            for p in style.prepacks
        ],
        "prices": [
            {"list": p.list, "currency": p.currency, "amount": str(p.amount)}
            for p in sorted(style.prices, key=lambda p: (p.list, p.currency))
        ],
        "tax_class": style.tax_class,
        "status": style.status,
        "attributes": style.attributes,
        "content": None if style.content.empty else style.content.as_json(),
        "version": style.version,
    }
