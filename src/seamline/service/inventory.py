"""The stock ledger's commands and reads: movements, receipts, balances, channel availability and history."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.ledger import SELLABLE_KINDS, SINK_KINDS, MovementKind, MovementRequest, plan_alike, plan_movement
from seamline.ledger.atp import atp_many, sku_availability
from seamline.ledger.model import PlannedMovement
from seamline.service import metrics
from seamline.service.transactions import Part
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channels_repo, idempotency_repo, ledger_repo

#: A movement as the API answers it (``MovementOut``); ``from`` is a keyword, hence the functional form.
MovementView = TypedDict(
    "MovementView",
    {
        "id": int,
        "kind": str,
        "sku": str,
        "qty": int,
        "from": str | None,
        "to": str | None,
        "reason": str | None,
        "document": str | None,
        "channel": str | None,
        "occurred_at": str,
        "recorded_at": str,
        "trace_id": str | None,
        "unit_cost": str | None,
        "cost_value": str | None,
        "cost_currency": str | None,
        "cost_source": str | None,
    },
)


class StockRow(TypedDict):
    """One balance row as ``GET /v1/stock`` answers it; ``available`` is 0 at a location that does not sell."""

    sku: str
    location: str
    on_hand: int
    committed: int
    reserved: int
    available: int
    sellable: bool


class Availability(TypedDict):
    """One SKU's number for a channel (DESIGN 4.4): ``available`` is what the channel is shown."""

    sku: str
    available: int
    atp: int
    paused: bool


class Inventory(Part):
    def record_movement(
        self,
        uow: UnitOfWork,
        request: MovementRequest,
        *,
        trace_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> MovementView:
        conn = uow.conn
        kinds = catalog_repo.known_skus(conn, [request.sku])
        if request.sku not in kinds:
            raise InvalidInput(f"unknown SKU {request.sku}", [FieldError("sku", "does not exist")], code="unknown-sku")
        if kinds[request.sku] == "prepack":
            raise InvalidInput(
                "stock is kept in units: post the prepack's component SKUs",
                [FieldError("sku", "is a prepack")],
                code="prepack-not-stocked",
            )
        planned = plan_movement(request, uow.location_kinds())
        if planned.checked:
            # Goods leaving must be available, and a hold past its expiry no longer counts (DESIGN 4.3): write
            # the expiry of the SKU's lapsed holds first rather than wait for the sweeper.
            now = self.clock.now()
            ledger_repo.expire_holds(uow, ledger_repo.expired_hold_ids(conn, now, skus=[planned.sku]), now)
        row = ledger_repo.record_movement(
            uow, planned, now=self.clock.now(), trace_id=trace_id, idempotency_key=idempotency_key
        )
        metrics.MOVEMENTS.labels(planned.kind.value).inc()
        metrics.MOVEMENT_UNITS.labels(planned.kind.value).inc(planned.qty)
        return movement_view(row)

    def receive_stock(
        self,
        uow: UnitOfWork,
        location: str,
        lines: Sequence[tuple[str, int] | tuple[str, int, Decimal | None]],
        *,
        document: str,
        reason: str | None = None,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """A receipt of many lines into ``location`` (a 3PL stock snapshot, an opening balance, a delivery):
        one ``receipt`` movement per line, each checked by the very rules of ``record_movement``, written by
        the set-based path (``ledger_repo.record_movements``). All or nothing: any bad line is reported by its
        index and nothing is written. Idempotent by ``document``: a receipt whose document already has receipt
        movements writes nothing and answers ``replayed``."""
        conn = uow.conn
        idempotency_repo.lock_keys(conn, [("receipt", document)])  # a concurrent twin waits, then replays
        if ledger_repo.has_movements_of(conn, document, MovementKind.RECEIPT.value):
            return {"location": location, "document": document, "movements": 0, "units": 0, "replayed": True}
        planned = self.receive_lines(uow, location, lines, document=document, reason=reason, trace_id=trace_id)
        units = sum(move.qty for move in planned)
        return {
            "location": location,
            "document": document,
            "movements": len(planned),
            "units": units,
            "replayed": False,
        }

    def receive_lines(
        self,
        uow: UnitOfWork,
        location: str,
        lines: Sequence[tuple[str, int] | tuple[str, int, Decimal | None]],
        *,
        document: str,
        reason: str | None = None,
        trace_id: str | None = None,
    ) -> list[PlannedMovement]:
        """``receive_stock`` without its replay check, for a caller whose document carries several receipts
        (a B2B supply delivered in parts) or who keeps its own idempotency (a 3PL's 944, by its inbox): one
        ``receipt`` movement per line, in order, each checked by the rules of ``record_movement``, all or
        nothing, written by ``ledger_repo.record_movements``. Answers the movements written."""
        conn = uow.conn
        kinds = catalog_repo.known_skus(conn, [line[0] for line in lines])
        errors: list[FieldError] = []
        line_errors: list[tuple[int, FieldError]] = []
        receivable: list[tuple[str, int, Decimal | None]] = []
        at: list[int] = []  # the line index of each receivable line
        for i, line in enumerate(lines):
            sku, qty = line[0], line[1]
            # A line's unit cost (a stock import's ``unit_cost`` column); None: the catalog's standard cost.
            unit_cost = line[2] if len(line) > 2 else None
            if kinds.get(sku) != "variant":
                reason_text = "is a prepack: post its component SKUs" if sku in kinds else "does not exist"
                line_errors.append((i, FieldError(f"lines[{i}].sku", reason_text)))
                continue
            if unit_cost is not None and (not isinstance(unit_cost, Decimal) or unit_cost < 0):
                line_errors.append((i, FieldError(f"lines[{i}].unit_cost", "must be a decimal, 0 or more")))
                continue
            receivable.append((sku, qty, unit_cost))
            at.append(i)
        # The lines differ only in SKU, quantity and unit cost: the kind and sides are planned once (``plan_alike``,
        # by the rules of ``plan_movement``, whose errors name the field), each quantity by a single movement's rule.
        request = MovementRequest("receipt", "", 1, to_location=location, reason=reason, document=document)
        planned: list[PlannedMovement] = []
        try:
            planned, bad = plan_alike(request, receivable, uow.location_kinds())
        except InvalidInput as exc:
            errors += exc.errors
            bad = []
        line_errors += [(at[n], FieldError(f"lines[{at[n]}].qty", e.message)) for n, e in bad]
        errors += [e for _, e in sorted(line_errors, key=lambda pair: pair[0])]
        if errors:
            raise InvalidInput(f"receipt {document} has bad lines; nothing was received", errors[:100])
        written = ledger_repo.record_movements(uow, planned, now=self.clock.now(), trace_id=trace_id)
        metrics.MOVEMENTS.labels(MovementKind.RECEIPT.value).inc(written)
        metrics.MOVEMENT_UNITS.labels(MovementKind.RECEIPT.value).inc(sum(move.qty for move in planned))
        return planned

    def stock(self, *, sku: str | None = None, location: str | None = None, style: str | None = None) -> list[StockRow]:
        def work(conn: Connection) -> list[StockRow]:
            kinds = ledger_repo.location_kinds(conn)
            if location is not None and location not in kinds:
                raise NotFound(f"no location {location}", code="unknown-location")
            skus: list[str] | None = None
            if style is not None:
                skus = catalog_repo.skus_of_style(conn, style)
            if sku is not None:
                if catalog_repo.get_sku(conn, sku) is None:
                    raise NotFound(f"no SKU {sku}", code="unknown-sku")
                skus = [sku] if skus is None else [s for s in skus if s == sku]
            rows = ledger_repo.read_balances(
                conn, self.clock.now(), skus=skus, locations_in=[location] if location else None
            )
            return [
                {
                    "sku": b.sku,
                    "location": b.location,
                    "on_hand": b.on_hand,
                    "committed": b.committed,
                    "reserved": b.reserved,
                    "available": b.available if kinds[b.location] in SELLABLE_KINDS else 0,
                    "sellable": kinds[b.location] in SELLABLE_KINDS,
                }
                for b in rows
                if kinds[b.location] not in SINK_KINDS
            ]

        return self.read(work)

    def availability(
        self,
        channel: str,
        *,
        sku: str | None = None,
        style: str | None = None,
        after: str | None = None,
        limit: int = 500,
    ) -> tuple[list[Availability], str | None]:
        """ATP per SKU for one channel (DESIGN 4.4), paginated by SKU."""

        def work(conn: Connection) -> tuple[list[Availability], str | None]:
            if channels_repo.sourcing(conn, channel) is None:
                raise NotFound(f"no channel {channel}", code="unknown-channel")
            if sku is not None:
                if catalog_repo.get_sku(conn, sku) is None:
                    raise NotFound(f"no SKU {sku}", code="unknown-sku")
                wanted = [sku]
            elif style is not None:
                wanted = catalog_repo.skus_of_style(conn, style)
            else:
                wanted = catalog_repo.active_skus(conn, after=after, limit=limit + 1)
            page, next_cursor = wanted, None
            if sku is None and style is None and len(wanted) > limit:
                page, next_cursor = wanted[:limit], wanted[limit - 1]
            kinds = catalog_repo.known_skus(conn, page)
            packs = catalog_repo.prepack_map(conn, [s for s in page if kinds.get(s) == "prepack"])
            all_policies = channels_repo.policies(
                conn, skus=sorted(set(page) | {c for p in packs.values() for c, _ in p})
            )
            policy = next(p for p in all_policies if p.code == channel)
            unit_skus = sorted(
                {s for s in page if kinds.get(s) == "variant"} | {c for p in packs.values() for c, _ in p}
            )
            by_sku: dict[str, dict[str, int]] = defaultdict(dict)
            for b in ledger_repo.read_balances(
                conn, self.clock.now(), skus=unit_skus, locations_in=list(policy.sources)
            ):
                by_sku[b.sku][b.location] = b.available
            numbers = atp_many(policy, unit_skus, by_sku, all_policies)
            items: list[Availability] = []
            for code in page:
                if code in packs or code not in numbers:
                    result = sku_availability(policy, code, by_sku, all_policies, packs.get(code))
                else:
                    result = numbers[code]
                items.append({"sku": code, "available": result.published, "atp": result.atp, "paused": result.paused})
            return items, next_cursor

        return self.read(work)

    def availability_pages(self, channel: str, *, page_size: int = 10_000) -> Iterator[list[Availability]]:
        """Every SKU's availability for ``channel``, a page at a time, each page its own short read: a whole
        channel is exported in constant memory, and no transaction stays open while a slow client reads.
        An unknown channel raises on the first page, before anything is sent.

        The same numbers as ``availability`` (the one ATP, ``atp_many``/``sku_availability``), read by set: a
        page is a range of active SKUs in code order, so its kinds come with the SKUs and its balances and
        per-SKU policies are read by that range (``sku > after AND sku <= last``), a few statements per 10k
        SKUs instead of an IN list of every SKU of the page."""
        cursor: str | None = None
        while True:
            page = functools.partial(self._availability_range, channel=channel, after=cursor, limit=page_size)
            items, cursor = self.read(page)
            yield items
            if cursor is None:
                return

    def _availability_range(
        self, conn: Connection, channel: str, after: str | None, limit: int
    ) -> tuple[list[Availability], str | None]:
        sourcing = channels_repo.sourcing(conn, channel)
        if sourcing is None:
            raise NotFound(f"no channel {channel}", code="unknown-channel")
        page = catalog_repo.active_skus_with_kinds(conn, after=after, limit=limit + 1)
        next_cursor = None
        if len(page) > limit:
            page, next_cursor = page[:limit], page[limit - 1][0]
        if not page:
            return [], None
        last = page[-1][0]
        packs = catalog_repo.prepack_map(conn, [s for s, kind in page if kind == "prepack"])
        components = sorted({c for p in packs.values() for c, _ in p})
        all_policies = channels_repo.policies(conn, sku_range=(after, last), extra_skus=components)
        policy = next(p for p in all_policies if p.code == channel)
        now = self.clock.now()
        by_sku: dict[str, dict[str, int]] = defaultdict(dict)
        for sku, location, available in ledger_repo.available_in_range(conn, now, after, last, policy.sources):
            by_sku[sku][location] = available
        # A pack's components may lie outside the range (and the database's collation, not Python's, orders
        # the range): they are read by list, few as they are; a component read twice has the same rows.
        if components:
            for b in ledger_repo.read_balances(conn, now, skus=components, locations_in=list(policy.sources)):
                by_sku[b.sku][b.location] = b.available
        numbers = atp_many(policy, [s for s, kind in page if kind == "variant"], by_sku, all_policies)
        items: list[Availability] = []
        for code, _ in page:
            result = numbers.get(code)
            if result is None:  # a prepack: from its components, through the one ATP function
                result = sku_availability(policy, code, by_sku, all_policies, packs.get(code))
            items.append({"sku": code, "available": result.published, "atp": result.atp, "paused": result.paused})
        return items, next_cursor

    def movements_of(self, sku: str, location: str | None = None, limit: int = 100) -> list[MovementView]:
        return [
            movement_view(r) for r in self.read(lambda conn: ledger_repo.movement_history(conn, sku, location, limit))
        ]


def movement_view(row: dict[str, Any]) -> MovementView:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "sku": row["sku"],
        "qty": row["qty"],
        "from": row["from_location"],
        "to": row["to_location"],
        "reason": row["reason"],
        "document": row["document"],
        "channel": row["channel"],
        "occurred_at": iso_utc(row["occurred_at"]),
        "recorded_at": iso_utc(row["recorded_at"]),
        "trace_id": row["trace_id"],
        # At cost (finance.cost): the unit cost applied, the value moved, where the cost came from.
        "unit_cost": None if row.get("unit_cost") is None else str(Decimal(str(row["unit_cost"])).quantize(_COST)),
        "cost_value": None if row.get("cost_value") is None else str(Decimal(str(row["cost_value"])).quantize(_COST)),
        "cost_currency": row.get("cost_currency"),
        "cost_source": row.get("cost_source"),
    }


_COST = Decimal("0.0001")
