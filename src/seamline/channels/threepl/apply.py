"""The ``apply`` half of the 3PL's inbox handlers: what each document the 3PL sends does to the ledger and the
order queue, inside the inbox's transaction, through the service (never raw SQL on the ledger).

- **945 / CSV shipment confirmation**: the order's units are picked (the ledger decrements at pick, DESIGN
  4.3), packed and shipped with the carrier's tracking; units already picked in Seamline are only shipped.
- **944 / CSV receipt**: the transfer it names (``reference``) received, when that is ours in transit to
  the 3PL; else a receipt into the 3PL's location, against the open PO or ASN it names when there is one,
  so its supply closes and pre-books are served. Damaged units go on to the damaged location.
- **947**: an adjustment per line (a gain into, or a loss out of, the 3PL's location) with the 3PL's reason.
- **846 / CSV inventory snapshot**: a variance report against the ledger's figures at the location, stored
  and shown (``GET /v1/threepl/{channel}/variances``); the ledger is never overwritten.
- **856** from a supplier: inbound supply that wholesale pre-books may be promised from.

Every line is resolved (item to SKU, order number to order) before anything is written; a file with a line
that cannot be applied raises ``InvalidMessage`` with every such line's reason, and the inbox rejects it
whole. A refusal of the ledger itself (units no longer there) fails the message instead, to be retried.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from seamline.channels.threepl import inbound
from seamline.channels.threepl.connector import UNREADABLE, parse_message
from seamline.channels.threepl.documents import (
    AdvanceShipNotice,
    InventoryAdjustment,
    InventorySnapshot,
    ItemRef,
    Rejected,
    ShipmentConfirmation,
    StockReceipt,
    ThreePLDocument,
)
from seamline.channels.threepl.mapper import PartnerProfile
from seamline.channels.threepl.supply import apply_asn_supply, gtin_forms
from seamline.channels.threepl.variance import variance_report
from seamline.integration import InvalidMessage, StoredMessage, tracing
from seamline.ledger.model import MovementRequest
from seamline.service import Seamline
from seamline.service.b2b import PortalLine, WholesalePortal
from seamline.service.orders import OrderDesk
from seamline.service.stock_documents import StockDesk
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import b2b_repo, catalog_repo, ledger_repo, orders_repo, stock_documents_repo, threepl_repo

#: X12 product id qualifiers that never name an item: MF is the manufacturer's name.
NOT_ITEM_IDS = frozenset({"MF"})


@dataclass(frozen=True)
class ThreePLFile:
    """A parsed file: what ``apply`` works on."""

    message_id: int
    file_name: str
    kind: str
    documents: tuple[ThreePLDocument, ...]


@dataclass
class _Problems:
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        self.reasons.append(reason)

    def raise_if_any(self, file: ThreePLFile) -> None:
        if self.reasons:
            raise InvalidMessage(f"{file.file_name}: " + "; ".join(self.reasons))


class ItemResolver:
    """Our SKU for a 3PL's item: its SKU, else another id it sent (a vendor part number), else its GTIN in
    any of the forms the catalog may keep it in. Loaded once per file, in the inbox's transaction."""

    def __init__(self, conn: Connection, items: Iterable[ItemRef]) -> None:
        items = list(items)
        codes = {i.sku for i in items if i.sku} | {value for i in items for _, value in self._ids(i)}
        self.kinds = catalog_repo.known_skus(conn, codes)
        forms = {i.gtin: [*gtin_forms(i.gtin), i.gtin.lstrip("0")] for i in items if i.gtin}
        owners = catalog_repo.gtin_owners(conn, sorted({f for fs in forms.values() for f in fs if f}))
        self.by_gtin = {
            gtin: found
            for gtin, candidates in forms.items()
            if (found := next((owners[f][0] for f in candidates if f in owners), None)) is not None
        }
        self.components = catalog_repo.prepack_map(conn, [s for s, k in self.kinds.items() if k == "prepack"])

    def sku(self, item: ItemRef) -> str | None:
        if item.sku and item.sku in self.kinds:
            return item.sku
        if item.gtin and item.gtin in self.by_gtin:
            return self.by_gtin[item.gtin]
        return next((value for _, value in self._ids(item) if value in self.kinds), None)

    @staticmethod
    def _ids(item: ItemRef) -> list[tuple[str, str]]:
        """The other ids that may name an item (not a manufacturer's name, MF, which names a brand)."""
        return [(qualifier, value) for qualifier, value in item.other_ids if qualifier not in NOT_ITEM_IDS]

    def units(self, sku: str, qty: int) -> list[tuple[str, int]]:
        """Stock is kept in units: a prepack counts as its components."""
        return [(component, qty * n) for component, n in self.components.get(sku, [(sku, 1)])]


def _items(document: ThreePLDocument) -> list[ItemRef]:
    if isinstance(document, ShipmentConfirmation | StockReceipt | InventoryAdjustment):
        return [line.item for line in document.lines]
    if isinstance(document, InventorySnapshot):
        return [level.item for level in document.levels]
    if isinstance(document, AdvanceShipNotice):
        return [
            item.item
            for order in document.orders
            for item in [*order.loose_items, *(i for pack in order.packs for i in pack.items)]
        ]
    return []


def _line(no: int | None, position: int) -> str:
    return f"line {no}" if no is not None else f"line {position}"


class ThreePLFiles:
    """The inbox handler of one 3PL channel's files (every file kind; see ``wiring``)."""

    def __init__(
        self,
        app: Seamline,
        channel: str,
        location: str,
        profile: PartnerProfile | None = None,
        *,
        complete_advice: bool = True,
    ) -> None:
        self.app = app
        self.channel = channel
        self.location = location
        self.profile = profile
        self.complete_advice = complete_advice
        self.desk = OrderDesk(app)
        self.stock = StockDesk(app)
        self.portal = WholesalePortal(app)

    # ------------------------------------------------------------------ parse
    def parse(self, message: StoredMessage) -> ThreePLFile:
        name = message.headers.get("file-name", message.external_id)
        if message.message_type == UNREADABLE:
            identified = inbound.identify(name, message.body)
            reasons = identified.errors if isinstance(identified, Rejected) else ()
            raise InvalidMessage(f"{name}: " + ("; ".join(str(i) for i in reasons) or "not a file this 3PL sends"))
        try:
            documents = parse_message(message, self.profile)
        except InvalidMessage as exc:
            raise InvalidMessage(f"{name}: {exc.reason}") from None
        return ThreePLFile(message.id, name, message.message_type, documents)

    # ------------------------------------------------------------------ apply
    def apply(self, uow: UnitOfWork, command: ThreePLFile) -> None:
        conn = uow.conn
        resolver = ItemResolver(conn, [item for d in command.documents for item in _items(d)])
        problems = _Problems()
        plan: list[Any] = []
        for document in command.documents:
            if isinstance(document, ShipmentConfirmation):
                plan.append(self._plan_shipment(conn, document, resolver, problems))
            elif isinstance(document, StockReceipt):
                plan.append(self._plan_receipt(conn, document, resolver, problems))
            elif isinstance(document, InventoryAdjustment):
                plan.append(self._plan_adjustment(document, resolver, problems))
            elif isinstance(document, AdvanceShipNotice):
                for i, item in enumerate(_items(document), start=1):
                    if resolver.sku(item) is None:
                        problems.add(f"ship notice {document.shipment_id} item {i}: {item} is not a SKU of ours")
                plan.append(document)
            elif isinstance(document, InventorySnapshot):
                plan.append(document)
            else:
                problems.add(f"a {type(document).__name__} is sent to the 3PL, not taken from it")
        problems.raise_if_any(command)
        snapshots = [d for d in plan if isinstance(d, InventorySnapshot)]
        for step in plan:
            if isinstance(step, _Shipment):
                self._ship(uow, step)
            elif isinstance(step, _Receipt):
                self._receive(uow, step)
            elif isinstance(step, _Adjustment):
                self._adjust(uow, step)
            elif isinstance(step, AdvanceShipNotice):
                apply_asn_supply(self.portal, conn, step, location=self.location)
        if snapshots:
            self._report(conn, command, snapshots, resolver)

    # -- 945 -------------------------------------------------------------------------------------------
    def _plan_shipment(
        self, conn: Connection, doc: ShipmentConfirmation, resolver: ItemResolver, problems: _Problems
    ) -> _Shipment | None:
        found = threepl_repo.orders_named(conn, doc.order_id)
        if not found:
            problems.add(f"shipment of order {doc.order_id}: no such order")
            return None
        if len(found) > 1:
            problems.add(f"shipment of order {doc.order_id}: {len(found)} orders carry that number")
            return None
        order = orders_repo.get_order(conn, found[0])
        assert order is not None
        shipped: dict[str, int] = defaultdict(int)
        for position, line in enumerate(doc.lines, start=1):
            sku = resolver.sku(line.item)
            where = f"shipment of order {doc.order_id} {_line(line.line_no, position)}"
            if sku is None:
                problems.add(f"{where}: {line.item} is not a SKU of ours")
            elif line.uom != "EA":
                problems.add(f"{where}: {line.qty_shipped} {line.uom} of {sku}; only eaches (EA) are taken")
            else:
                shipped[sku] += line.qty_shipped
        picks: list[tuple[str, int]] = []
        for sku, qty in sorted(shipped.items()):
            mine = [line for line in order["lines"] if line.sku == sku]
            if not mine:
                problems.add(f"shipment of order {doc.order_id}: the order has no line for {sku}")
                continue
            waiting = sum(line.picked - line.shipped for line in mine)  # picked in Seamline, not yet shipped
            allocated = sum(line.allocated for line in mine)
            to_pick = max(0, qty - waiting)
            if to_pick > allocated:
                problems.add(
                    f"shipment of order {doc.order_id}: {qty} of {sku} shipped, but only "
                    f"{allocated + waiting} are allocated or picked and not yet shipped"
                )
            elif to_pick:
                picks.append((sku, to_pick))
        if not shipped or not any(q for q in shipped.values()):
            problems.add(f"shipment of order {doc.order_id}: no unit is shipped")
        return _Shipment(found[0], doc, picks)

    def _ship(self, uow: UnitOfWork, step: _Shipment) -> None:
        conn = uow.conn
        trace = tracing.current()
        if step.picks:
            self.desk.pick(uow, step.order_id, step.picks, trace_id=trace)
        order = orders_repo.get_order(conn, step.order_id)
        assert order is not None
        if any(line.picked > line.packed for line in order["lines"]):
            self.desk.pack(uow, step.order_id)
        tracking = step.document.tracking or step.document.shipment_id
        self.desk.ship(uow, step.order_id, tracking=tracking)

    # -- 944 -------------------------------------------------------------------------------------------
    def _plan_receipt(
        self, conn: Connection, doc: StockReceipt, resolver: ItemResolver, problems: _Problems
    ) -> _Receipt:
        transfer = None
        if doc.reference:
            found = stock_documents_repo.get_transfer(conn, doc.reference)
            if found is not None:
                if found["to_location"] != self.location or found["status"] != "in_transit":
                    problems.add(
                        f"receipt {doc.receipt_id}: transfer {doc.reference} is {found['status']} to "
                        f"{found['to_location']}, not in transit to {self.location}"
                    )
                transfer = doc.reference
        good: dict[str, int] = defaultdict(int)
        damaged: dict[str, int] = defaultdict(int)
        for position, line in enumerate(doc.lines, start=1):
            sku = resolver.sku(line.item)
            where = f"receipt {doc.receipt_id} {_line(line.line_no, position)}"
            if sku is None:
                problems.add(f"{where}: {line.item} is not a SKU of ours")
                continue
            if line.uom != "EA":
                problems.add(f"{where}: {line.qty_received} {line.uom} of {sku}; only eaches (EA) are taken")
                continue
            for component, units in resolver.units(sku, line.qty_received):
                good[component] += units
            for component, units in resolver.units(sku, line.qty_damaged):
                damaged[component] += units
        return _Receipt(doc, dict(good), {k: v for k, v in damaged.items() if v}, transfer)

    def _receive(self, uow: UnitOfWork, step: _Receipt) -> None:
        conn = uow.conn
        trace = tracing.current()
        document = f"3pl:{self.channel}:{step.document.receipt_id}"
        remaining = {sku: qty for sku, qty in step.units.items() if qty > 0}
        reference = step.document.reference
        if step.transfer is not None:
            # our own stock arriving from another location: in transit -> the 3PL; what the receipt leaves
            # out is written off in transit, what it adds is booked as a gain (the transfer's own rules)
            self.stock.receive_transfer(uow, step.transfer, sorted(remaining.items()), trace_id=trace)
            remaining = {}
        elif reference:
            open_rows = [r for r in b2b_repo.supply_rows(conn, reference) if r["status"] == "open"]
            against = sorted({r["sku"] for r in open_rows} & set(remaining))
            if against:
                lines = [PortalLine(sku, remaining.pop(sku)) for sku in against]
                self.portal.receive_supply(uow, reference, lines, trace_id=trace)
        if remaining:
            # A 944 can be a whole stock delivery of thousands of lines: the set-based receipt path, with the
            # rules of one record_movement per line (the inbox makes the message itself idempotent).
            self.app.receive_lines(uow, self.location, sorted(remaining.items()), document=document, trace_id=trace)
        for sku, qty in sorted(step.damaged.items()):
            self.app.record_movement(
                uow,
                MovementRequest(
                    kind="damage",
                    sku=sku,
                    qty=qty,
                    from_location=self.location,
                    reason="received damaged at the 3PL",
                    document=document,
                ),
                trace_id=trace,
            )

    # -- 947 -------------------------------------------------------------------------------------------
    def _plan_adjustment(self, doc: InventoryAdjustment, resolver: ItemResolver, problems: _Problems) -> _Adjustment:
        moves: list[tuple[str, int, str]] = []
        for position, line in enumerate(doc.lines, start=1):
            sku = resolver.sku(line.item)
            where = f"adjustment {doc.adjustment_id} {_line(line.line_no, position)}"
            if sku is None:
                problems.add(f"{where}: {line.item} is not a SKU of ours")
                continue
            if line.uom != "EA":
                problems.add(f"{where}: {line.qty_change} {line.uom} of {sku}; only eaches (EA) are taken")
                continue
            reason = f"3PL {line.reason_code}: {line.reason}".strip()
            for component, units in resolver.units(sku, line.qty_change):
                if units:
                    moves.append((component, units, reason))
        return _Adjustment(doc, moves)

    def _adjust(self, uow: UnitOfWork, step: _Adjustment) -> None:
        document = f"3pl:{self.channel}:{step.document.adjustment_id}"
        for sku, change, reason in step.moves:
            gain = change > 0
            self.app.record_movement(
                uow,
                MovementRequest(
                    kind="adjustment",
                    sku=sku,
                    qty=abs(change),
                    to_location=self.location if gain else None,
                    from_location=None if gain else self.location,
                    reason=reason,
                    document=document,
                ),
                trace_id=tracing.current(),
            )

    # -- 846 -------------------------------------------------------------------------------------------
    def _report(
        self, conn: Connection, command: ThreePLFile, snapshots: Sequence[InventorySnapshot], resolver: ItemResolver
    ) -> None:
        now = self.app.clock.now()
        balances = ledger_repo.read_balances(conn, now, locations_in=[self.location])
        on_hand = {b.sku: b.on_hand for b in balances}
        available = {b.sku: b.on_hand - b.committed - b.reserved for b in balances}
        for snapshot in snapshots:
            for level in snapshot.levels:
                sku = resolver.sku(level.item)
                if sku is not None and resolver.kinds.get(sku) == "variant":
                    on_hand.setdefault(sku, 0)
                    available.setdefault(sku, 0)
        # a level named by another id (a vendor part number) that is one of our SKUs is compared as that SKU
        adjusted = [
            replace(s, levels=tuple(replace(level, item=_with_sku(level.item, resolver)) for level in s.levels))
            for s in snapshots
        ]
        report = variance_report(
            adjusted, on_hand, ledger_available=available, sku_by_gtin=resolver.by_gtin, complete=self.complete_advice
        )
        lines: list[dict[str, Any]] = []
        for variance in report.variances:
            lines.append(
                {
                    "kind": "variance",
                    "sku": variance.sku,
                    "item": variance.sku,
                    "measure": variance.measure,
                    "threepl_qty": variance.threepl,
                    "ledger_qty": variance.ledger,
                    "reason": None,
                }
            )
        for variance in report.not_reported:
            lines.append(
                {
                    "kind": "not_reported",
                    "sku": variance.sku,
                    "item": variance.sku,
                    "measure": variance.measure,
                    "threepl_qty": None,
                    "ledger_qty": variance.ledger,
                    "reason": "stocked here by the ledger, left out of the advice",
                }
            )
        for unmatched in report.unmatched:
            lines.append(
                {
                    "kind": "unmatched",
                    "sku": None,
                    "item": str(unmatched.level.item)[:255],
                    "measure": unmatched.level.measure,
                    "threepl_qty": unmatched.level.quantity,
                    "ledger_qty": None,
                    "reason": unmatched.reason,
                }
            )
        threepl_repo.insert_variance_report(
            conn,
            {
                "channel": self.channel,
                "location": self.location,
                "inbox_message_id": command.message_id,
                "file_name": command.file_name[:255],
                "reference": ", ".join(s.reference for s in snapshots)[:100],
                "as_of": max((s.as_of for s in snapshots if s.as_of is not None), default=None),
                "complete": self.complete_advice,
                "agreeing": len(report.agreeing),
                "clean": report.clean,
                "created_at": now,
            },
            lines,
        )


def _with_sku(item: ItemRef, resolver: ItemResolver) -> ItemRef:
    """The item with our SKU in its SKU place when it was named by another id (a vendor part number)."""
    sku = resolver.sku(item)
    if sku is None or item.sku == sku:
        return item
    return ItemRef(sku, item.gtin, item.other_ids)


@dataclass(frozen=True)
class _Shipment:
    order_id: str
    document: ShipmentConfirmation
    picks: list[tuple[str, int]]


@dataclass(frozen=True)
class _Receipt:
    document: StockReceipt
    units: dict[str, int]
    damaged: dict[str, int]
    #: The transfer the receipt names, when it is one of ours in transit to the 3PL.
    transfer: str | None = None


@dataclass(frozen=True)
class _Adjustment:
    document: InventoryAdjustment
    moves: list[tuple[str, int, str]]
