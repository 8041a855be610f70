"""An inbound 856 (a supplier's ship notice to our warehouse or 3PL) as inbound supply (issue 7): the units
it announces become an ``asn`` supply document that wholesale pre-books may be promised from, replaced by
the next version of the same notice and closed when the goods are received.

Items are resolved to our SKUs by SKU, else by GTIN; an item naming neither one of ours is reported, never
guessed. ``apply_asn_supply`` is the ``apply`` half of an inbox handler for ``x12-856`` files whose partner
is a supplier (the parse half is ``connector.parse_message``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from seamline.channels.threepl.documents import AdvanceShipNotice, AsnItem
from seamline.service.b2b import PortalLine, SupplyDocument, WholesalePortal
from seamline.store import catalog_repo


@dataclass(frozen=True)
class AsnSupply:
    document: SupplyDocument
    #: Items that named nothing of ours (shown to a person, left out of the supply).
    unresolved: tuple[str, ...]


def _items(asn: AdvanceShipNotice) -> Iterable[AsnItem]:
    for order in asn.orders:
        for pack in order.packs:
            yield from pack.items
        yield from order.loose_items


def gtin_forms(gtin: str) -> list[str]:
    """A GTIN as it may be kept in the catalog: an 856 sends GTIN-14, the catalog holds the EAN-13, UPC-A
    (GTIN-12) or EAN-8 it was given; the shorter forms are the longer one without its leading zeros."""
    digits = gtin.strip()
    return [digits] + [digits[-n:] for n in (13, 12, 8) if len(digits) > n and set(digits[:-n]) <= {"0"}]


def supply_from_asn(
    asn: AdvanceShipNotice,
    *,
    location: str,
    expected_on: date | None,
    skus: Mapping[str, str],
    gtins: Mapping[str, str],
) -> AsnSupply:
    """``skus`` and ``gtins`` resolve an item's SKU or GTIN to our SKU. The goods are expected on
    ``expected_on``, else the day the notice says they shipped, else the day it was issued."""
    units: dict[str, int] = defaultdict(int)
    unresolved = []
    for item in _items(asn):
        ours = skus.get(item.item.sku or "") or gtins.get(item.item.gtin or "")
        if ours is None:
            unresolved.append(str(item.item))
            continue
        units[ours] += item.qty
    when = expected_on or asn.shipped_on or asn.issued_on
    if when is None:
        raise ValueError(f"ship notice {asn.shipment_id} carries no date: give expected_on")
    document = SupplyDocument(
        reference=asn.shipment_id,
        kind="asn",
        location=location,
        expected_on=when,
        lines=[PortalLine(sku, qty) for sku, qty in sorted(units.items()) if qty > 0],
    )
    return AsnSupply(document, tuple(unresolved))


def apply_asn_supply(
    portal: WholesalePortal, conn: Connection, asn: AdvanceShipNotice, *, location: str, expected_on: date | None = None
) -> AsnSupply:
    """Inside the inbox's transaction: resolve the notice's items and record (or replace) its supply."""
    items = list(_items(asn))
    known = catalog_repo.known_skus(conn, [i.item.sku for i in items if i.item.sku])
    sent = {i.item.gtin for i in items if i.item.gtin}
    forms = {gtin: gtin_forms(gtin) for gtin in sent}
    owners = catalog_repo.gtin_owners(conn, sorted({f for fs in forms.values() for f in fs}))
    gtins = {}
    for gtin, candidates in forms.items():
        found = next((owners[f][0] for f in candidates if f in owners), None)
        if found is not None:
            gtins[gtin] = found
    supply = supply_from_asn(
        asn,
        location=location,
        expected_on=expected_on,
        skus={sku: sku for sku, kind in known.items() if kind == "variant"},
        gtins=gtins,
    )
    if supply.document.lines:
        portal.put_supply(conn, supply.document)
    return supply
