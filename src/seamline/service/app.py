"""The application's commands and queries. Each public method is one database transaction.

The API, the CLI and the benchmarks all call these; none of them writes SQL of its own.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from seamline.catalog import Style, StyleDraft, build_style, same_definition
from seamline.catalog.model import Variant
from seamline.catalog.rules import CODE_RE, catalog_clashes, style_codes_of
from seamline.domain.clock import Clock, iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound, Shortage, Unauthorized
from seamline.domain.ids import random_hex
from seamline.ledger import (
    SELLABLE_KINDS,
    SINK_KINDS,
    Balance,
    Difference,
    HoldLineRequest,
    LocationKind,
    MovementKind,
    MovementRequest,
    plan_alike,
    plan_movement,
)
from seamline.ledger.atp import atp_many, sku_availability
from seamline.ledger.batch import ChannelRule, Demand, Short, decide, rows_needed
from seamline.ledger.holds import resolve_demand
from seamline.ledger.model import PHYSICAL_KINDS, PlannedMovement
from seamline.orders.reconcile import OrderDifference, compare_order_allocations
from seamline.service import metrics
from seamline.service.group_commit import GroupCommit, LockKeys, lock_in_order
from seamline.service.handlers import MessageBus
from seamline.service.outbound import OutboundPolicy
from seamline.service.principal import Principal, require_till_channel
from seamline.service.settings import Settings
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import (
    auth_repo,
    catalog_repo,
    channels_repo,
    idempotency_repo,
    ledger_repo,
    locations_repo,
    orders_repo,
)
from seamline.store.db import run_transaction, snapshot, transaction

T = TypeVar("T")
TOKEN_CACHE_SECONDS = 5.0

SHORTAGE_POLICIES = ("reject", "backorder")
CHANNEL_KINDS = ("shopify", "pos", "amazon", "mirakl", "wholesale", "threepl", "web", "marketplace", "other")
SECRET_SETTING_HINTS = ("secret", "token", "password", "key")


@dataclass(frozen=True)
class IdempotencyKey:
    principal: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Stored:
    """A response as the API first answered it, replayed verbatim for a repeated Idempotency-Key."""

    status_code: int
    body: Any
    replayed: bool = False


@dataclass
class ReconcileReport:
    differences: list[Difference] = field(default_factory=list)
    negative_available: list[Balance] = field(default_factory=list)
    unconserved_skus: list[str] = field(default_factory=list)
    checked_rows: int = 0
    #: Rows below zero available that an oversell exception explains (DESIGN 4.3): reported, not a difference.
    oversold: list[Balance] = field(default_factory=list)
    #: Orders whose lines' allocated units disagree with their open allocations.
    order_differences: list[OrderDifference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.differences or self.negative_available or self.unconserved_skus or self.order_differences)


def _is_secret(name: str) -> bool:
    return any(hint in name.lower() for hint in SECRET_SETTING_HINTS)


def redact_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Secrets in channel settings are write-only: report that they are set, never their value."""
    return {k: ("***" if _is_secret(k) and v else v) for k, v in settings.items()}


class Seamline:
    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self._outbound: tuple[Settings, OutboundPolicy] | None = None
        self.generated_admin_token: str | None = None
        self._token_cache: dict[str, tuple[float, Principal | None]] = {}
        #: Moves on every revocation in this process: caches of who is calling (the dashboard's too) that
        #: were filled under an older epoch are not trusted.
        self.auth_epoch = 0
        #: The handler table's collaborators and runner (``service.handlers``): run inside every write
        #: transaction, after its work and before commit, for the domain events the work raised.
        self.bus = MessageBus()
        #: Group commit for sales and orders, started by the API with ``seamline serve`` (issue 9).
        self.group_commit: GroupCommit | None = None

    # ---------------------------------------------------------------- transactions and idempotency
    def write(self, work: Callable[[UnitOfWork], T], *, batch: bool = False, lock_keys: LockKeys | None = None) -> T:
        """Run ``work`` in a write transaction with its unit of work; the handler table runs for the events it
        raised before commit (``service.handlers``). ``batch``: share the transaction (and its commit) with
        concurrent writes through the group commit, when one is running (issue 9). ``lock_keys``: the balance
        rows ``work`` may touch, locked first in the global order (issue 16)."""
        if batch and self.group_commit is not None and self.group_commit.running:
            return self.group_commit.submit(work, lock_keys)

        def in_transaction(conn: Connection) -> tuple[T, UnitOfWork]:
            uow = UnitOfWork(conn)
            if lock_keys is not None:
                lock_in_order(conn, [lock_keys])
            result = work(uow)
            self.bus.handle(uow)
            return result, uow

        result, uow = run_transaction(self.engine, in_transaction)
        uow.committed()
        return result

    def read(self, work: Callable[[Connection], T]) -> T:
        with transaction(self.engine, write=False) as conn:
            return work(conn)

    def idempotent(
        self,
        idem: IdempotencyKey | None,
        work: Callable[[UnitOfWork], tuple[int, Any]],
        *,
        batch: bool = False,
        lock_keys: LockKeys | None = None,
    ) -> Stored:
        """Run ``work`` once per key: its response is stored in the same transaction as its effect.

        A repeated key with the same request gets the first response; with a different request, 409.
        Failures are not stored (they wrote nothing), so a retry after a 409 shortage tries again.
        """
        if idem is None:
            status, body = self.write(work, batch=batch, lock_keys=lock_keys)
            return Stored(status, body)

        def guarded(uow: UnitOfWork) -> Stored:
            # The key's lock, the one the hold batches take: a concurrent writer of this key (single or
            # batched, any process) is waited for, then replayed, instead of meeting it at the unique index.
            conn = uow.conn
            idempotency_repo.lock_keys(conn, [(idem.principal, idem.key)])
            prior = idempotency_repo.find(conn, idem.principal, idem.key)
            if prior is not None:
                return self._replay(prior, idem)
            status, body = work(uow)
            idempotency_repo.save(conn, idem.principal, idem.key, idem.request_hash, status, body, self.clock.now())
            return Stored(status, body)

        try:
            return self.write(guarded, batch=batch, lock_keys=lock_keys)
        except IntegrityError:
            # A concurrent request with the same key committed first; ours rolled back whole.
            prior = self.read(lambda conn: idempotency_repo.find(conn, idem.principal, idem.key))
            if prior is None:
                raise
            return self._replay(prior, idem)

    @staticmethod
    def _replay(prior: dict[str, Any], idem: IdempotencyKey) -> Stored:
        if prior["request_hash"] != idem.request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request",
                code="idempotency-key-reused",
            )
        metrics.IDEMPOTENT_REPLAYS.inc()
        return Stored(prior["status_code"], prior["response"], replayed=True)

    # ---------------------------------------------------------------- auth
    def authenticate(self, token: str | None) -> Principal:
        """The token's principal. Answers are cached for ``TOKEN_CACHE_SECONDS`` per process, so a drop's
        thousands of requests per second do not each read the token table: a token revoked here is refused
        at once (``forget_tokens``), one revoked by another process within that time. An expiring token is
        refused once the clock passes its ``expires_at``, cached or not."""
        cached = self.authenticate_cached(token)
        if cached is not None:
            return cached
        assert token is not None
        epoch = self.auth_epoch
        row = self.read(lambda conn: auth_repo.find_token(conn, token))
        principal = None
        if row is not None and (row["expires_at"] is None or row["expires_at"] > self.clock.now()):
            principal = Principal(row["id"], row["name"], frozenset(row["scopes"]), row["expires_at"])
        if len(self._token_cache) >= 10_000:
            self._token_cache.clear()
        if epoch == self.auth_epoch:  # a revocation while we read must not be undone by this answer
            self._token_cache[token] = (time.monotonic() + TOKEN_CACHE_SECONDS, principal)
        if principal is None:
            raise Unauthorized("unknown, expired or revoked token", code="invalid-token")
        return principal

    def authenticate_cached(self, token: str | None) -> Principal | None:
        """The principal from the cache without touching the database; None when it must be looked up."""
        if not token:
            raise Unauthorized("missing bearer token", code="missing-token")
        cached = self._token_cache.get(token)
        if cached is None or cached[0] <= time.monotonic():
            return None
        principal = cached[1]
        if principal is None or (principal.expires_at is not None and principal.expires_at <= self.clock.now()):
            raise Unauthorized("unknown, expired or revoked token", code="invalid-token")
        return principal

    def forget_tokens(self) -> None:
        """After a revocation or rotation: this process asks the database again on the next request."""
        self.auth_epoch += 1
        self._token_cache.clear()

    def ensure_admin_token(self, token: str) -> None:
        self.write(
            lambda uow: auth_repo.ensure_token(
                uow.conn, "bootstrap-admin", "bootstrap admin", token, ["admin"], self.clock.now()
            )
        )

    # ---------------------------------------------------------------- locations
    def put_location(self, uow: UnitOfWork, code: str, name: str, kind: str) -> tuple[bool, dict[str, Any]]:
        conn = uow.conn
        if not catalog_code_ok(code):
            raise InvalidInput("bad location code", [FieldError("code", "must be 1-64 letters, digits or . _ - /")])
        try:
            parsed = LocationKind(kind)
        except ValueError:
            parsed = None
        if parsed not in PHYSICAL_KINDS:
            raise InvalidInput(
                "bad location kind",
                [FieldError("kind", "must be warehouse, store or threepl (virtual locations are built in)")],
            )
        if not name or not name.strip():
            raise InvalidInput("a location needs a name", [FieldError("name", "is required")])
        existing = locations_repo.get_location(conn, code)
        if existing and existing["virtual"]:
            raise Conflict(f"{code} is a built-in virtual location", code="virtual-location")
        if (
            existing
            and existing["kind"] != kind
            and ledger_repo.read_balances(conn, self.clock.now(), locations_in=[code])
        ):
            raise Conflict(f"{code} holds stock; its kind cannot change", code="location-kind-locked")
        locations_repo.save_location(conn, code, name.strip(), kind, self.clock.now())
        uow.forget_location_kinds()
        saved = locations_repo.get_location(conn, code)
        assert saved is not None
        return existing is None, location_view(saved)

    def list_locations(self) -> list[dict[str, Any]]:
        return [location_view(r) for r in self.read(locations_repo.list_locations)]

    def get_location(self, code: str) -> dict[str, Any]:
        row = self.read(lambda conn: locations_repo.get_location(conn, code))
        if row is None:
            raise NotFound(f"no location {code}", code="unknown-location")
        return location_view(row)

    # ---------------------------------------------------------------- catalog
    def put_style(self, uow: UnitOfWork, draft: StyleDraft) -> tuple[str, Style]:
        """Create or replace a style; answers ``created``, ``updated`` or ``unchanged``.

        An identical definition changes nothing, not even the version, so re-importing a file is free.
        """
        conn = uow.conn
        style = build_style(draft)
        current = catalog_repo.get_style(conn, style.code, for_update=True)
        self._check_global_uniqueness(conn, style)
        if current is not None and same_definition(current, style):
            return "unchanged", current
        version = 1 if current is None else current.version + 1
        saved = replace(style, version=version)
        catalog_repo.save_style(uow, saved, self.clock.now())
        return ("created" if current is None else "updated"), saved

    def _check_global_uniqueness(self, conn: Connection, style: Style) -> None:
        skus, gtins = style_codes_of(style)
        errors = catalog_clashes(style, catalog_repo.gtin_owners(conn, gtins), catalog_repo.sku_owners(conn, skus))
        if errors:
            raise InvalidInput(f"style {style.code} clashes with the catalog", errors, code="catalog-conflict")

    def put_styles(self, uow: UnitOfWork, styles: Sequence[Style]) -> list[tuple[str, Style] | InvalidInput]:
        """``put_style`` for many validated styles at once, in a few statements: for each style, in order,
        ``(outcome, style)`` or the InvalidInput ``put_style`` would have raised (a clash with the catalog),
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
        out: list[tuple[str, Style] | InvalidInput] = []
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
                out.append(("unchanged", existing))
                continue
            saved = replace(style, version=1 if existing is None else existing.version + 1)
            to_save.append(saved)
            out.append((("created" if existing is None else "updated"), saved))
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

    def get_sku(self, sku: str) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            row = catalog_repo.get_sku(conn, sku)
            if row is None:
                raise NotFound(f"no SKU {sku}", code="unknown-sku")
            style = catalog_repo.get_style(conn, row["style_code"])
            assert style is not None
            out = {
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

    # ---------------------------------------------------------------- channels
    @property
    def outbound(self) -> OutboundPolicy:
        """Which URLs, hosts and folders connector settings may name (issue #20), from the current settings."""
        if self._outbound is None or self._outbound[0] is not self.settings:
            self._outbound = (self.settings, OutboundPolicy.from_settings(self.settings))
        return self._outbound[1]

    def put_channel(self, uow: UnitOfWork, code: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        conn = uow.conn
        if not catalog_code_ok(code):
            raise InvalidInput("bad channel code", [FieldError("code", "must be 1-64 letters, digits or . _ - /")])
        errors: list[FieldError] = []
        kind = body.get("kind")
        if kind not in CHANNEL_KINDS:
            errors.append(FieldError("kind", f"must be one of {', '.join(CHANNEL_KINDS)}"))
        sources = body.get("sources") or []
        kinds = ledger_repo.location_kinds(conn)
        for i, loc in enumerate(sources):
            if loc not in kinds:
                errors.append(FieldError(f"sources[{i}]", f"location {loc!r} does not exist"))
            elif kinds[loc] not in SELLABLE_KINDS:
                errors.append(FieldError(f"sources[{i}]", f"{loc} is not a sellable location"))
        if len(set(sources)) != len(sources):
            errors.append(FieldError("sources", "lists a location twice"))
        for name in ("safety_stock", "pause_below"):
            value = body.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors.append(FieldError(name, "must be a whole number, 0 or more"))
        on_shortage = body.get("on_shortage", "reject")
        if on_shortage not in SHORTAGE_POLICIES:
            errors.append(FieldError("on_shortage", "must be reject or backorder"))
        sku_policies: dict[str, tuple[int | None, int]] = {}
        raw_overrides = body.get("sku_overrides") or []
        known = catalog_repo.known_skus(conn, [o.get("sku", "") for o in raw_overrides])
        for i, item in enumerate(raw_overrides):
            sku = item.get("sku")
            safety, fence = item.get("safety_stock"), item.get("ring_fence", 0)
            if sku not in known:
                errors.append(FieldError(f"sku_overrides[{i}].sku", f"unknown SKU {sku!r}"))
                continue
            if safety is not None and (isinstance(safety, bool) or not isinstance(safety, int) or safety < 0):
                errors.append(FieldError(f"sku_overrides[{i}].safety_stock", "must be a whole number, 0 or more"))
                continue
            if isinstance(fence, bool) or not isinstance(fence, int) or fence < 0:
                errors.append(FieldError(f"sku_overrides[{i}].ring_fence", "must be a whole number, 0 or more"))
                continue
            sku_policies[str(sku)] = (safety, fence)
        # Where the connector will send its token: https to a public host, a drop folder under the root (#20).
        errors.extend(self.outbound.check_settings(str(kind), body.get("settings") or {}))
        if errors:
            raise InvalidInput(f"channel {code} is not valid", errors)
        existing = channels_repo.get_channel(conn, code)
        settings = dict(body.get("settings") or {})
        if existing:
            # Write-only secrets: a PUT that leaves a secret out keeps the one already stored.
            for key, value in existing["settings"].items():
                if _is_secret(key) and key not in settings:
                    settings[key] = value
        values = {
            "kind": kind,
            "sources": list(sources),
            "safety_stock": body.get("safety_stock", 0),
            "pause_below": body.get("pause_below", 0),
            "allow_split": bool(body.get("allow_split", False)),
            "on_shortage": on_shortage,
            "settings": settings,
        }
        channels_repo.save_channel(conn, code, values, sku_policies, self.clock.now())
        saved = channels_repo.get_channel(conn, code)
        assert saved is not None
        return existing is None, channel_view(saved)

    def list_channels(self) -> list[dict[str, Any]]:
        return [channel_view(row) for row in self.read(channels_repo.list_channels)]

    def get_channel(self, code: str) -> dict[str, Any]:
        row = self.read(lambda conn: channels_repo.get_channel(conn, code))
        if row is None:
            raise NotFound(f"no channel {code}", code="unknown-channel")
        return channel_view(row)

    # ---------------------------------------------------------------- movements
    def record_movement(
        self,
        uow: UnitOfWork,
        request: MovementRequest,
        *,
        trace_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
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

    # ---------------------------------------------------------------- holds
    def place_hold(
        self,
        uow: UnitOfWork,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """Reserve every line or nothing. Lines without a location draw on the channel's sources in order.

        The rows the request may touch (for a channel: every source of each SKU) are locked in (sku, location)
        order, read once, and the request is decided in memory by ``ledger.batch.decide``, the very rule the
        group-commit batcher applies: the channel bounds (sources, other channels' ring-fences, safety stock)
        are checked on rows no one else can change until this transaction ends.

        ``till_of``: a store token's hold, allowed only under a till channel of those stores."""
        conn = uow.conn
        ttl = self.check_ttl(ttl_seconds)
        sourcing = channels_repo.sourcing(conn, channel) if channel is not None else None
        if channel is not None and sourcing is None:
            raise self.unknown_channel(channel)
        if channel is not None and till_of is not None:
            till_kind, till_sources = channels_repo.kind_and_sources(conn, channel) or (None, [])
            require_till_channel(channel, till_kind, till_sources, till_of)
        resolved = self._resolve_demand(conn, channel, lines, sourcing[0] if sourcing is not None else None)
        rule = None
        if channel is not None:
            rule = self.hold_rules(conn, {channel}, {sku for sku, _ in resolved})[channel]
        sources, allow_split = sourcing if sourcing is not None else ([], False)
        wanted = tuple((sku, loc, qty) for (sku, loc), qty in resolved.items())
        demand = Demand(wanted, tuple(sources), allow_split, rule)
        available = ledger_repo.lock_available(conn, rows_needed([demand]))
        decision = decide(available, demand)
        if isinstance(decision, Short):
            raise Shortage(list(decision.lines))
        resolved_lines = list(decision.lines)
        net: dict[tuple[str, str], int] = defaultdict(int)
        for sku, loc, qty in resolved_lines:
            net[(sku, loc)] += qty
        ledger_repo.add_reserved(uow, dict(net))
        now = self.clock.now()
        hold_id = "hld_" + random_hex()
        expires_at = now + timedelta(seconds=ttl)
        ledger_repo.insert_hold(
            conn, hold_id, channel=channel, lines=resolved_lines, now=now, expires_at=expires_at, trace_id=trace_id
        )
        lines_view = [{"sku": sku, "location": loc, "qty": qty} for sku, loc, qty in resolved_lines]
        return hold_view(
            {
                "id": hold_id,
                "status": "held",
                "channel": channel,
                "lines": lines_view,
                "created_at": now,
                "expires_at": expires_at,
                "ended_at": None,
                "document": None,
            }
        )

    def place_hold_txn(
        self,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        idem: IdempotencyKey | None = None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> Stored:
        """Place a hold in its own transaction. On a shortage, sweep expired holds of those SKUs and try once
        more: a checkout abandoned a minute ago must not block the next buyer because the sweeper is late."""

        def work(uow: UnitOfWork) -> tuple[int, Any]:
            hold = self.place_hold(
                uow, channel=channel, lines=lines, ttl_seconds=ttl_seconds, trace_id=trace_id, till_of=till_of
            )
            return 201, hold

        try:
            stored = self.idempotent(idem, work)
        except Shortage as first:
            if not self.sweep_expired(skus=[line.sku for line in first.lines]):
                metrics.HOLDS.labels("short").inc()
                raise
            try:
                stored = self.idempotent(idem, work)
            except Shortage:
                metrics.HOLDS.labels("short").inc()
                raise
        if not stored.replayed:
            metrics.HOLDS.labels("held").inc()
            metrics.HOLD_UNITS.inc(sum(line["qty"] for line in stored.body["lines"]))
        return stored

    def check_ttl(self, ttl_seconds: int | None) -> int:
        ttl = self.settings.default_hold_ttl_seconds if ttl_seconds is None else ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= self.settings.max_hold_ttl_seconds:
            raise InvalidInput(
                "bad TTL", [FieldError("ttl_seconds", f"must be 1..{self.settings.max_hold_ttl_seconds} seconds")]
            )
        return ttl

    @staticmethod
    def unknown_channel(channel: str) -> InvalidInput:
        return InvalidInput(
            f"unknown channel {channel}", [FieldError("channel", "does not exist")], code="unknown-channel"
        )

    def _resolve_demand(
        self, conn: Connection, channel: str | None, lines: Sequence[HoldLineRequest], sources: Sequence[str] | None
    ) -> dict[tuple[str, str | None], int]:
        kinds = catalog_repo.known_skus(conn, [line.sku for line in lines])
        packs = catalog_repo.prepack_map(conn, [s for s, k in kinds.items() if k == "prepack"])
        return resolve_demand(channel, lines, kinds, packs, ledger_repo.location_kinds(conn), sources)

    @staticmethod
    def hold_rules(conn: Connection, channels: set[str], skus: set[str]) -> dict[str, ChannelRule]:
        """The bounds of each channel's holds on these (component) SKUs: its policy and every ring-fence."""
        if not channels:
            return {}
        policies = channels_repo.policies(conn, skus=sorted(skus))
        fences = tuple(p for p in policies if p.ring_fences)
        return {p.code: ChannelRule(p, fences) for p in policies if p.code in channels}

    def release_hold(self, uow: UnitOfWork, hold_id: str) -> dict[str, Any]:
        """Release a live hold. Releasing twice answers the same; an expired or committed hold is a 409."""
        conn = uow.conn
        now = self.clock.now()
        hold = ledger_repo.get_hold(conn, hold_id)
        if hold is None:
            raise NotFound(f"no hold {hold_id}", code="unknown-hold")
        if ledger_repo.end_hold(uow, hold_id, status="released", now=now, require_live=True):
            hold = ledger_repo.get_hold(conn, hold_id)
            assert hold is not None
            return hold_view(hold)
        # Read it again: a concurrent release or sweep may have ended it after our first read (on PostgreSQL
        # the conditional update waited for that transaction, and the earlier read is stale).
        hold = ledger_repo.get_hold(conn, hold_id)
        assert hold is not None
        if hold["status"] == "released":
            return hold_view(hold)
        if hold["status"] in ("held", "expired"):  # "held" here means past its expiry, not yet swept
            raise Conflict(f"hold {hold_id} expired before it was released", code="hold-expired")
        raise Conflict(f"hold {hold_id} is {hold['status']}, not held", code="hold-not-held")

    def get_hold(self, hold_id: str) -> dict[str, Any]:
        hold = self.read(lambda conn: ledger_repo.get_hold(conn, hold_id))
        if hold is None:
            raise NotFound(f"no hold {hold_id}", code="unknown-hold")
        view = hold_view(hold)
        if view["status"] == "held" and hold["expires_at"] <= self.clock.now():
            view["status"] = "expired"  # evaluated at read; the sweeper will write it
        return view

    def commit_hold(self, uow: UnitOfWork, hold_id: str, document: str) -> list[tuple[str, str, int]]:
        lines = ledger_repo.commit_hold(uow, hold_id, document=document, now=self.clock.now())
        if lines is None:
            raise Conflict(f"hold {hold_id} is not live", code="hold-not-held")
        return lines

    def sweep_expired(self, *, skus: Sequence[str] | None = None, limit: int = 500) -> int:
        """Expire holds past their TTL and return their units. Safe to run from several processes."""

        def work(uow: UnitOfWork) -> int:
            now = self.clock.now()
            expired = ledger_repo.expired_hold_ids(uow.conn, now, skus=skus, limit=limit)
            return ledger_repo.expire_holds(uow, expired, now)

        # Look before taking the write lock: usually nothing has expired, and on SQLite a write transaction
        # would queue behind every writer just to find that out.
        if not self.read(lambda conn: ledger_repo.expired_hold_ids(conn, self.clock.now(), skus=skus, limit=1)):
            return 0
        count = self.write(work)
        metrics.HOLD_EXPIRIES.inc(count)
        return count

    # ---------------------------------------------------------------- reading stock
    def stock(
        self, *, sku: str | None = None, location: str | None = None, style: str | None = None
    ) -> list[dict[str, Any]]:
        def work(conn: Connection) -> list[dict[str, Any]]:
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
    ) -> tuple[list[dict[str, Any]], str | None]:
        """ATP per SKU for one channel (DESIGN 4.4), paginated by SKU."""

        def work(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
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
            items = []
            for code in page:
                if code in packs or code not in numbers:
                    result = sku_availability(policy, code, by_sku, all_policies, packs.get(code))
                else:
                    result = numbers[code]
                items.append({"sku": code, "available": result.published, "atp": result.atp, "paused": result.paused})
            return items, next_cursor

        return self.read(work)

    def availability_pages(self, channel: str, *, page_size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
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
    ) -> tuple[list[dict[str, Any]], str | None]:
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
        items = []
        for code, _ in page:
            result = numbers.get(code)
            if result is None:  # a prepack: from its components, through the one ATP function
                result = sku_availability(policy, code, by_sku, all_policies, packs.get(code))
            items.append({"sku": code, "available": result.published, "atp": result.atp, "paused": result.paused})
        return items, next_cursor

    def movements_of(self, sku: str, location: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [
            movement_view(r) for r in self.read(lambda conn: ledger_repo.movement_history(conn, sku, location, limit))
        ]

    # ---------------------------------------------------------------- reconcile
    def reconcile(self) -> ReconcileReport:
        """Rebuild balances from movements, holds and allocations, and list every difference (DESIGN 4.3).

        One snapshot of the database, compared inside it: memory grows with the differences found, not with
        the ledger, and writers keep committing while it runs (it can run during trading)."""

        def work(conn: Connection) -> ReconcileReport:
            report = ReconcileReport(checked_rows=ledger_repo.balance_row_count(conn))
            report.differences = [Difference(*found) for found in ledger_repo.balance_differences(conn)]
            kinds = ledger_repo.location_kinds(conn)
            negative = ledger_repo.negative_available(conn, [c for c, k in kinds.items() if k in SELLABLE_KINDS])
            explained = orders_repo.exception_keys(conn)
            report.negative_available = [b for b in negative if (b.sku, b.location) not in explained]
            report.oversold = [b for b in negative if (b.sku, b.location) in explained]
            report.order_differences = compare_order_allocations(
                orders_repo.line_allocated_units(conn), orders_repo.order_open_allocations(conn)
            )
            report.unconserved_skus = ledger_repo.unconserved_skus(conn)
            return report

        with snapshot(self.engine) as conn:
            report = work(conn)
        metrics.RECONCILE_DIFFERENCES.inc(len(report.differences))
        return report


def catalog_code_ok(code: str) -> bool:
    return bool(CODE_RE.match(code))


def location_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"code": row["code"], "name": row["name"], "kind": row["kind"], "virtual": bool(row["virtual"])}


def channel_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "kind": row["kind"],
        "sources": list(row["sources"]),
        "safety_stock": row["safety_stock"],
        "pause_below": row["pause_below"],
        "allow_split": bool(row["allow_split"]),
        "on_shortage": row["on_shortage"],
        "sku_overrides": [
            {"sku": sku, "safety_stock": p["safety_stock"], "ring_fence": p["ring_fence"]}
            for sku, p in sorted(row.get("sku_policies", {}).items())
        ],
        "settings": redact_settings(dict(row["settings"])),
    }


def movement_view(row: dict[str, Any]) -> dict[str, Any]:
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


def hold_view(hold: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": hold["id"],
        "status": hold["status"],
        "channel": hold["channel"],
        "lines": hold["lines"],
        "created_at": iso_utc(hold["created_at"]),
        "expires_at": iso_utc(hold["expires_at"]),
        "ended_at": iso_utc(hold["ended_at"]) if hold.get("ended_at") else None,
        "document": hold.get("document"),
    }


def style_view(style: Style) -> dict[str, Any]:
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
