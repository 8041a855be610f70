"""Store tills (DESIGN 5, issue 6): sales made offline arrive as one batch, and the catalog and prices reach
the till before it opens.

- **Offline batches**: a till that lost its connection uploads what it sold, each sale with its own external
  id and real ``occurred_at``. The batch is one transaction: applied in ``occurred_at`` (then the till's
  ``sequence``) order, every sale ``force``d (the goods left: a unit the ledger no longer has raises an
  oversell exception), and a bad sale anywhere refuses the whole batch with nothing written. A batch is
  received once per (store, till, batch id): a replay answers the first results; a sale the till had
  already sent on its own is a duplicate of that order, never a second sale.
- **Till catalog**: each unit SKU as a till rings it up (names, GTIN, the store price list's prices), with
  the price list's version when it last changed. Saving a style republishes its SKUs in the same
  transaction; the version moves only when a till-visible field changed. A till asks for changes ``since``
  its version and acknowledges what it applied, so ops can see which stores are behind before opening.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.catalog.events import TillCatalogChanged
from seamline.domain.clock import ensure_utc, iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.service.app import Seamline
from seamline.service.customers import ContactRequest
from seamline.service.orders import LineRequest, OrderDesk, SaleRequest, TenderRequest
from seamline.service.principal import Principal
from seamline.service.results import PutResult
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, ledger_repo, tills_repo

#: The price list a store's tills sell from (``POST /v1/sales`` prices lines from it too).
STORE_PRICE_LIST = "retail"
MAX_BATCH = 500
#: Styles read per statement when republishing (SKUs a statement names stay well under SQLite's limits).
CHUNK = 100


@dataclass(frozen=True, slots=True)
class OfflineSale:
    external_id: str
    occurred_at: datetime | None
    lines: Sequence[LineRequest]
    tenders: Sequence[TenderRequest]
    currency: str
    customer: ContactRequest | None = None
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class OfflineBatch:
    location: str
    till: str
    batch_id: str
    sales: Sequence[OfflineSale]
    channel: str | None = None

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _prefixed(exc: InvalidInput, prefix: str) -> list[tuple[FieldError, str]]:
    errors = exc.errors or [FieldError("", exc.detail)]
    return [(FieldError(f"{prefix}.{e.field}" if e.field else prefix, e.message), exc.code) for e in errors]


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class TillDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _store(self, conn: Connection, location: str) -> str:
        kind = ledger_repo.location_kinds(conn).get(location)
        if kind is None:
            raise NotFound(f"no location {location}", code="unknown-location")
        if kind != "store":
            raise InvalidInput(
                f"{location} is not a store", [FieldError("location", f"{location} is a {kind}, tills are in stores")]
            )
        return location

    # ------------------------------------------------------------------------------------ offline batches
    def record_offline_batch(
        self, uow: UnitOfWork, batch: OfflineBatch, *, trace_id: str | None = None, caller: Principal | None = None
    ) -> PutResult[dict[str, Any]]:
        """Each sale's result and the store's availability now, created; the first results, not created, for a
        replay; ``Conflict`` ``batch-mismatch`` for the same batch id with other sales; ``InvalidInput`` and
        nothing written when any sale is not valid (every problem listed, by ``sales[i]``); ``Forbidden`` when
        ``caller`` may not file the batch's sales under its channel (``OrderDesk.record_sale``)."""
        conn = uow.conn
        location = self._store(conn, batch.location)
        self._check_shape(batch)
        now = self.app.clock.now()
        fingerprint = batch.fingerprint()
        first = tills_repo.claim_batch(conn, location, batch.till, batch.batch_id, fingerprint, len(batch.sales), now)
        if first is not None:
            if first["body_hash"] != fingerprint:
                raise Conflict(
                    f"batch {batch.batch_id} of till {batch.till} was received with other sales",
                    code="batch-mismatch",
                )
            return PutResult(
                False, self._answer(conn, location, batch, first["answer"], first["received_at"], replayed=True)
            )
        desk = OrderDesk(self.app)
        requests = {index: self._request(location, batch, index) for index in range(len(batch.sales))}
        problems: list[tuple[FieldError, str]] = []
        for index, request in requests.items():  # the whole batch is checked before anything is written
            try:
                desk.check_sale(uow, request, caller)
            except InvalidInput as exc:
                problems += _prefixed(exc, f"sales[{index}]")
        if problems:
            codes = {code for _, code in problems}
            raise InvalidInput(
                "the batch is not valid: nothing was recorded",
                [error for error, _ in problems],
                code=codes.pop() if len(codes) == 1 else None,
            )
        results: dict[int, dict[str, Any]] = {}
        for index in self._order(batch.sales):
            sale = desk.record_sale(uow, requests[index], trace_id=trace_id, caller=caller)
            results[index] = {
                "external_id": batch.sales[index].external_id,
                "order_id": sale.order["id"],
                "status": "recorded" if sale.created else "duplicate",
                "occurred_at": sale.order.get("occurred_at"),
            }
        raised = tills_repo.exceptions_for(conn, [r["order_id"] for r in results.values() if r["status"] == "recorded"])
        applied = []
        for index in self._order(batch.sales):
            result = results[index]
            applied.append({**result, "exceptions": raised.get(result["order_id"], [])})
        tills_repo.save_batch_answer(conn, location, batch.till, batch.batch_id, applied)
        return PutResult(True, self._answer(conn, location, batch, applied, now, replayed=False))

    @staticmethod
    def _request(location: str, batch: OfflineBatch, index: int) -> SaleRequest:
        sale = batch.sales[index]
        return SaleRequest(
            location=location,
            external_id=sale.external_id,
            lines=sale.lines,
            tenders=sale.tenders,
            currency=sale.currency,
            customer=sale.customer,
            occurred_at=sale.occurred_at,
            channel=batch.channel,
            force=True,  # the goods left the shop: a unit the ledger no longer has raises an exception
        )

    @staticmethod
    def _check_shape(batch: OfflineBatch) -> None:
        errors: list[FieldError] = []
        if not batch.sales:
            errors.append(FieldError("sales", "needs at least one sale"))
        if len(batch.sales) > MAX_BATCH:
            errors.append(FieldError("sales", f"at most {MAX_BATCH} sales a batch"))
        seen: dict[str, int] = {}
        for i, sale in enumerate(batch.sales):
            if sale.external_id in seen:
                errors.append(FieldError(f"sales[{i}].external_id", f"repeats sales[{seen[sale.external_id]}]"))
            seen.setdefault(sale.external_id, i)
            if sale.occurred_at is None:
                errors.append(FieldError(f"sales[{i}].occurred_at", "an offline sale needs the time it was made"))
            elif sale.occurred_at.tzinfo is None:
                errors.append(FieldError(f"sales[{i}].occurred_at", "must carry a UTC offset"))
        if errors:
            raise InvalidInput("the batch is not valid: nothing was recorded", errors)

    @staticmethod
    def _order(sales: Sequence[OfflineSale]) -> list[int]:
        """As they happened: by real time, then the till's own sequence, then as listed."""

        def key(i: int) -> tuple[datetime, int, int]:
            sale = sales[i]
            assert sale.occurred_at is not None
            return ensure_utc(sale.occurred_at), sale.sequence if sale.sequence is not None else i, i

        return sorted(range(len(sales)), key=key)

    def _answer(
        self,
        conn: Connection,
        location: str,
        batch: OfflineBatch,
        applied: Any,
        received_at: datetime,
        *,
        replayed: bool,
    ) -> dict[str, Any]:
        """The results as first recorded, with the store's availability *now* for the batch's SKUs (what the
        till shows next; the whole store's stock is ``GET /v1/stock?location=``) and the catalog version."""
        skus = sorted({line.sku for sale in batch.sales for line in sale.lines})
        packs = catalog_repo.prepack_map(conn, skus)
        units = sorted({c for sku in skus for c, _ in packs.get(sku, [(sku, 1)])})
        now = self.app.clock.now()
        found = {b.sku: b for b in ledger_repo.read_balances(conn, now, skus=units, locations_in=[location])}
        availability = [
            {
                "sku": sku,
                "on_hand": found[sku].on_hand if sku in found else 0,
                "available": found[sku].available if sku in found else 0,
            }
            for sku in units
        ]
        return {
            "location": location,
            "till": batch.till,
            "batch_id": batch.batch_id,
            "received_at": iso_utc(received_at),
            "replayed": replayed,
            "sales": list(applied or []),
            "availability": availability,
            "catalog_version": tills_repo.current_version(conn, STORE_PRICE_LIST),
        }

    # ------------------------------------------------------------------------------------ till catalog
    def publish(self, conn: Connection, style_codes: Sequence[str] | None = None) -> dict[str, Any] | None:
        """Bring the till catalog up to date for these styles (all with None): answers what changed (the new
        version, its SKUs and styles), or None when no till-visible field changed."""
        codes = tills_repo.all_style_codes(conn) if style_codes is None else sorted(set(style_codes))
        changed: list[tuple[dict[str, Any], str]] = []
        for start in range(0, len(codes), CHUNK):  # an import saves thousands of styles in one transaction
            sources = tills_repo.catalog_sources(conn, codes[start : start + CHUNK], STORE_PRICE_LIST)
            stored = tills_repo.catalog_digests(conn, STORE_PRICE_LIST, [s["sku"] for s in sources])
            changed += [(s, d) for s in sources if stored.get(s["sku"]) != (d := _digest(s))]
        if not changed:
            return None
        now = self.app.clock.now()
        version = tills_repo.bump_version(conn, STORE_PRICE_LIST, now)
        tills_repo.save_catalog_items(conn, STORE_PRICE_LIST, version, changed, now)
        return {
            "price_list": STORE_PRICE_LIST,
            "version": version,
            "skus": [data["sku"] for data, _ in changed],
            "styles": sorted({data["style"] for data, _ in changed}),
        }

    def catalog(self, location: str, since: int, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """The till's changes after ``since``, oldest first, in pages of ``limit`` (``next_cursor`` continues
        one); ``upto`` is the version to acknowledge once the last page is applied."""
        after = self._cursor(cursor)

        def work(conn: Connection) -> dict[str, Any]:
            self._store(conn, location)
            version = tills_repo.current_version(conn, STORE_PRICE_LIST)
            items = tills_repo.catalog_since(conn, STORE_PRICE_LIST, since, limit + 1, after=after)
            more = len(items) > limit
            items = items[:limit]
            last = items[-1] if items else None
            return {
                "location": location,
                "price_list": STORE_PRICE_LIST,
                "since": since,
                "version": version,
                "upto": max([version, *(i["version"] for i in items)]),
                "complete": not more,
                "next_cursor": f"{last['version']}.{last['sku']}" if more and last else None,
                "items": items,
            }

        return self.app.read(work)

    @staticmethod
    def _cursor(cursor: str | None) -> tuple[int, str] | None:
        if cursor is None:
            return None
        version, _, sku = cursor.partition(".")
        if not version.isdigit() or not sku:
            raise InvalidInput("bad cursor", [FieldError("cursor", "use the next_cursor of the previous page")])
        return int(version), sku

    def ack(self, conn: Connection, location: str, till: str, version: int) -> dict[str, Any]:
        """A till says it has applied the catalog up to ``version``."""
        self._store(conn, location)
        current = tills_repo.current_version(conn, STORE_PRICE_LIST)
        if version > current:
            raise InvalidInput(
                f"version {version} is ahead of the catalog ({current})",
                [FieldError("version", f"must be at most {current}")],
                code="catalog-version-ahead",
            )
        tills_repo.save_ack(conn, location, till, version, self.app.clock.now())
        return {"location": location, "till": till, "version": version, "current": current, "behind": version < current}

    def sale_extras(self, location: str, *, limit: int = 500) -> list[dict[str, Any]]:
        """The parts of the store's till orders that are not stock (gift cards sold, custom amounts, service
        charges, cash rounding), oldest first, each with the stock sale it came with (``order_id``, none when
        the order sold no goods)."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            self._store(conn, location)
            return tills_repo.sale_extras(conn, location=location, limit=limit)

        rows = self.app.read(work)
        return [
            {
                "channel": r["channel"],
                "external_id": r["external_id"],
                "uid": r["uid"],
                "order_id": r["order_id"],
                "kind": r["kind"],
                "name": r["name"],
                "amount": str(r["amount"].quantize(Decimal("0.01"))),
                "currency": r["currency"],
                "occurred_at": iso_utc(r["occurred_at"]),
            }
            for r in rows
        ]

    def catalog_status(self, location: str | None = None) -> dict[str, Any]:
        """Every store: the catalog version, what each till acknowledged, and whether the store is behind
        (a till short of the current version, or no till heard from yet)."""

        def work(conn: Connection) -> dict[str, Any]:
            stores = tills_repo.store_locations(conn)
            if location is not None:
                self._store(conn, location)
                stores = [location]
            current = tills_repo.current_version(conn, STORE_PRICE_LIST)
            by_store: dict[str, list[dict[str, Any]]] = {}
            for ack in tills_repo.acks(conn, location):
                by_store.setdefault(ack["location"], []).append(
                    {
                        "till": ack["till"],
                        "version": int(ack["version"]),
                        "acked_at": iso_utc(ack["acked_at"]),
                        "behind": int(ack["version"]) < current,
                    }
                )
            items = []
            for store in stores:
                tills = by_store.get(store, [])
                behind = any(t["behind"] for t in tills) or (not tills and current > 0)
                items.append({"location": store, "version": current, "tills": tills, "behind": behind})
            return {"price_list": STORE_PRICE_LIST, "version": current, "items": items}

        return self.app.read(work)


class TillCatalogPublisher:
    """The ``StyleSaved`` handler's collaborator (``service.handlers``): the styles a transaction saved are
    republished to the till catalog in that transaction, so a price change and the version that announces it
    commit together. What changed is raised as ``TillCatalogChanged`` (the outbox announces it)."""

    def __init__(self, app: Seamline) -> None:
        self.desk = TillDesk(app)

    def __call__(self, uow: UnitOfWork, styles: Sequence[str]) -> None:
        if not styles:
            return
        changed = self.desk.publish(uow.conn, styles)
        if changed is not None:
            uow.raise_event(
                TillCatalogChanged(
                    changed["price_list"], changed["version"], tuple(changed["skus"]), tuple(changed["styles"])
                )
            )


def install(app: Seamline) -> TillCatalogPublisher:
    """Republish the till catalog from every write transaction of ``app`` that saves a style (once)."""
    if isinstance(app.bus.deps.till_catalog, TillCatalogPublisher):
        return app.bus.deps.till_catalog
    publisher = TillCatalogPublisher(app)
    app.bus.deps.till_catalog = publisher
    return publisher


__all__ = ["STORE_PRICE_LIST", "OfflineBatch", "OfflineSale", "TillCatalogPublisher", "TillDesk", "install"]
