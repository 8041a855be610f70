"""Holds: stock reserved for a checkout or a till for a while, then committed to an order, released or
expired (DESIGN 4.3)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypedDict

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound, Shortage
from seamline.domain.ids import random_hex
from seamline.ledger import HoldLineRequest
from seamline.ledger.batch import ChannelRule, Demand, Short, decide, rows_needed
from seamline.ledger.holds import resolve_demand
from seamline.service import metrics
from seamline.service.channels import Channels
from seamline.service.principal import require_till_channel
from seamline.service.transactions import IdempotencyKey, Part, Stored
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channels_repo, ledger_repo


class HoldView(TypedDict):
    """A hold as the API answers it (``HoldOut``); ``status`` ``expired`` is evaluated at read."""

    id: str
    status: str
    channel: str | None
    lines: list[dict[str, Any]]
    created_at: str
    expires_at: str
    ended_at: str | None
    document: str | None


class Holds(Part):
    def place_hold(
        self,
        uow: UnitOfWork,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> HoldView:
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
            raise Channels.unknown_channel(channel)
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

    def release_hold(self, uow: UnitOfWork, hold_id: str) -> HoldView:
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

    def get_hold(self, hold_id: str) -> HoldView:
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


def hold_view(hold: dict[str, Any]) -> HoldView:
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
