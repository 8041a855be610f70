"""Real-time availability (DESIGN 4.4), in two steps.

1. A writing transaction appends the balance rows it changed to the availability journal
   (``availability_dirty``), in the same transaction (the ``BalancesChanged`` handler, ``service.handlers``):
   an insert, so writers of one hot
   SKU never queue behind each other here, and a crash after the commit loses nothing.
2. The publisher takes journal rows (as many as have piled up) and, in one transaction, recomputes ATP once
   for every affected (channel, sku), writes ``AvailabilityChanged`` (and ``ListingPaused``/``ListingResumed``
   when ATP crosses the pause threshold) into the outbox and deletes the rows. It wakes at the commit of a
   transaction that wrote to the journal, so a burst of sales becomes one number per (channel, sku).

Only a changed number is an event: the last computed (atp, paused) per (channel, sku) is kept in
``channel_availability``, whose row lock serialises publishers in several processes on PostgreSQL; a
publisher reads balances only after taking it, so it never publishes a number missing a committed change.

Computing ATP inside every writing transaction (the earlier design) serialised all writers of one SKU on
that row lock: ~60 sales/s on PostgreSQL in ``bench/propagation.py``. See README, Performance.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Engine

from seamline.domain.clock import Clock
from seamline.integration import metrics, tracing
from seamline.integration.availability_batches import BATCH_FROM, coalesce_key, member_payload
from seamline.integration.events import (
    AVAILABILITY_BATCH,
    AVAILABILITY_CHANGED,
    LISTING_PAUSED,
    LISTING_RESUMED,
    NewEvent,
)
from seamline.integration.outbox import Outbox
from seamline.ledger.atp import ChannelPolicy, atp_many, sku_availability
from seamline.service.background import BackgroundLoop
from seamline.service.unit_of_work import UnitOfWork, run_unit_of_work
from seamline.store import channels_repo, ledger_repo, marketplace_repo, outbox_repo

log = logging.getLogger("seamline.availability")

#: Journal rows one publishing transaction takes at most.
FLUSH_LIMIT = 5000
#: How often an idle publisher looks for rows it was not woken for (another process crashed after commit).
POLL_SECONDS = 1.0


def catch_up_channel(
    uow: UnitOfWork, outbox: Outbox, clock: Clock, channel: str, subscribers: Sequence[str]
) -> list[str]:
    """A newly wired channel's current numbers (issue #15): the publisher only emits when a balance changes,
    so stock that was already there would never reach it. Emits ``AvailabilityChanged`` for each unit SKU
    stocked at the channel's sources whose number one of ``subscribers`` has not published yet; answers the
    SKUs. A rewire finds them published and sends nothing."""
    conn = uow.conn
    policies = channels_repo.policies(conn)
    policy = next((p for p in policies if p.code == channel), None)
    if policy is None or not policy.sources or not subscribers:
        return []
    now = clock.now()
    available: dict[str, dict[str, int]] = defaultdict(dict)
    for balance in ledger_repo.read_balances(conn, now, locations_in=list(policy.sources)):
        available[balance.sku][balance.location] = balance.available
    shown = [
        {r["sku"]: r["available"] for r in outbox_repo.published_numbers(conn, name, channel)} for name in subscribers
    ]
    events, behind = [], []
    for sku in sorted(available):  # units are stocked, packs are not: a pack's number follows its components
        result = sku_availability(policy, sku, available, policies)
        number = result.published
        if all(numbers.get(sku) == number for numbers in shown):
            continue
        payload = {
            "channel": channel,
            "sku": sku,
            "atp": result.atp,
            "available": number,
            "paused": result.paused,
            "pause_below": policy.pause_below,
        }
        events.append(NewEvent(AVAILABILITY_CHANGED, payload, channel, coalesce_key(channel, sku)))
        behind.append(sku)
    outbox.emit(uow, events)
    return behind


class AvailabilityJournal:
    """The ``BalancesChanged`` handler's collaborator: records which balance rows the transaction changed, and
    wakes the publisher once it committed (``on_commit``, set by ``integration.install``)."""

    def __init__(self, clock: Clock, on_commit: Callable[[], None] | None = None) -> None:
        self.clock = clock
        self.on_commit = on_commit

    def balances_changed(self, uow: UnitOfWork, rows: Sequence[tuple[str, str]]) -> None:
        if rows:
            outbox_repo.journal_changes(uow.conn, sorted(rows), tracing.current(), self.clock.now())
            if self.on_commit is not None:
                uow.after_commit(self.on_commit)


class AvailabilityPublisher:
    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        clock: Clock,
        *,
        coalesce_seconds: float = 0.0,
        batch_from: int = BATCH_FROM,
    ) -> None:
        self.engine = engine
        #: A channel with this many changed numbers in one burst gets them as one ``AvailabilityBatch``.
        self.batch_from = batch_from
        self.coalesce_seconds = coalesce_seconds
        self.outbox = outbox
        self.clock = clock
        self._flushing = threading.Lock()
        self._loop = BackgroundLoop("seamline-availability", self._turn, logger=log)

    # ------------------------------------------------------------------ publishing
    def flush(self, limit: int = FLUSH_LIMIT) -> int:
        """Publish what the journal holds, ``limit`` rows per transaction, until it is empty; answers how many
        journal rows were published. Safe to call from several threads and processes at once."""
        total = 0
        with self._flushing:
            while True:
                taken = run_unit_of_work(self.engine, lambda uow: self.publish_journal(uow, limit))
                total += taken
                if taken < limit:
                    return total

    def publish_journal(self, uow: UnitOfWork, limit: int = FLUSH_LIMIT) -> int:
        conn = uow.conn
        rows = outbox_repo.take_journal(conn, limit)
        if not rows:
            return 0
        traces: dict[str, str] = {}
        for row in rows:  # oldest first: the newest change's trace names the number
            if row["trace_id"]:
                traces[row["sku"]] = row["trace_id"]
        self.publish(uow, {(r["sku"], r["location"]) for r in rows}, traces)
        metrics.AVAILABILITY_BATCH.observe(len(rows))
        return len(rows)

    def publish(
        self, uow: UnitOfWork, touched: set[tuple[str, str]], traces: Mapping[str, str] | None = None
    ) -> list[str]:
        """Emit events for the (channel, sku) pairs whose availability these balance rows may have changed."""
        conn = uow.conn
        touched_locations: dict[str, set[str]] = defaultdict(set)  # sku -> locations changed
        for sku, location in touched:
            touched_locations[sku].add(location)
        packs = outbox_repo.packs_containing(conn, touched_locations)
        unit_skus = set(touched_locations) | {c for comps in packs.values() for c, _ in comps}
        policies = channels_repo.policies(conn, skus=sorted(unit_skus | set(packs)))
        targets: dict[str, tuple[ChannelPolicy, set[str]]] = {}
        for policy in policies:
            sources = set(policy.sources)
            skus = {s for s, locs in touched_locations.items() if locs & sources}
            skus |= {
                p for p, comps in packs.items() if any(touched_locations.get(c, set()) & sources for c, _ in comps)
            }
            if skus:
                targets[policy.code] = (policy, skus)
        if not targets:
            return []
        now = self.clock.now()
        keys = [(channel, sku) for channel, (_, skus) in targets.items() for sku in skus]
        last = outbox_repo.lock_availability(conn, keys, now)
        # Read balances only after the locks: on PostgreSQL this statement sees every transaction that
        # recomputed these pairs before us, so the number we publish includes their changes.
        locations = sorted({loc for policy, _ in targets.values() for loc in policy.sources})
        needed = sorted({s for _, skus in targets.values() for s in skus if s not in packs} | unit_skus)
        available: dict[str, dict[str, int]] = defaultdict(dict)
        for balance in ledger_repo.read_balances(conn, now, skus=needed, locations_in=locations):
            available[balance.sku][balance.location] = balance.available
        events: list[NewEvent] = []
        saved: list[tuple[str, str, int, bool, int]] = []
        crossings: list[tuple[int, str]] = []  # (index in events, ListingPaused | ListingResumed)
        for channel in sorted(targets):
            policy, skus = targets[channel]
            # Every unit SKU's number of the channel in one pass (a receipt of 100k SKUs recomputes them all at
            # once); a prepack's through the one ATP function, from its components'.
            numbers = atp_many(policy, sorted(skus - packs.keys()), available, policies)
            changed: list[tuple[str, int, bool, bool | None]] = []  # (sku, atp, paused, paused before)
            for sku in sorted(skus):
                if sku in packs:
                    result = sku_availability(policy, sku, available, policies, packs[sku])
                else:
                    result = numbers[sku]
                before_atp, before_paused = last.get((channel, sku), (None, None))
                if before_atp != result.atp or before_paused != result.paused:
                    changed.append((sku, result.atp, result.paused, before_paused))
            batch = len(changed) >= self.batch_from
            if batch:  # one event for the burst's numbers of this channel (integration.availability_batches)
                batch_index = len(events)
                shared = {(traces or {}).get(sku) for sku, *_ in changed}
                payload = {"channel": channel, "skus": len(changed), "pause_below": policy.pause_below}
                events.append(
                    NewEvent(AVAILABILITY_BATCH, payload, channel, None, shared.pop() if len(shared) == 1 else None)
                )
            for sku, atp, paused, before_paused in changed:
                trace = (traces or {}).get(sku)
                if batch:
                    index = batch_index
                else:
                    index = len(events)
                    payload = member_payload(channel, sku, atp, paused, policy.pause_below)
                    events.append(NewEvent(AVAILABILITY_CHANGED, payload, channel, coalesce_key(channel, sku), trace))
                if (before_paused is None and paused) or (before_paused is not None and before_paused != paused):
                    kind = LISTING_PAUSED if paused else LISTING_RESUMED
                    crossing = {"channel": channel, "sku": sku, "atp": atp, "pause_below": policy.pause_below}
                    crossings.append((len(events), kind))
                    events.append(NewEvent(kind, crossing, channel, f"listing:{channel}:{sku}", trace))
                saved.append((channel, sku, atp, paused, index))
        if not events:
            return []
        ids = self.outbox.emit(uow, events)
        by_index = dict(enumerate(ids))
        outbox_repo.save_availability(conn, [(c, s, atp, paused, by_index[i]) for c, s, atp, paused, i in saved], now)
        # The pause log (issue 7): each crossing is recorded with the state change, keyed by its event.
        marketplace_repo.record_pauses(
            conn,
            [
                {
                    **{k: events[i].payload[k] for k in ("channel", "sku", "atp", "pause_below")},
                    "action": "paused" if kind == LISTING_PAUSED else "restored",
                    "event_id": by_index[i],
                    "at": now,
                }
                for i, kind in crossings
            ],
        )
        return ids

    # ------------------------------------------------------------------ the background thread
    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _turn(self) -> float:
        try:
            published = self.flush()
        except Exception:  # noqa: BLE001 - the database may be briefly away; the rows stay in the journal
            log.exception("publishing availability failed; will retry")
            self._loop.pause(0.5)
            return 0.0
        if published and self.coalesce_seconds > 0:
            # Under a stream of writes, let the next burst gather: one recomputation (and, on SQLite, one
            # turn of the single write lock) per interval instead of one per writer's commit. An idle
            # system still publishes at once: the wait starts only after rows were published.
            self._loop.pause(self.coalesce_seconds)
            return 0.0
        return POLL_SECONDS
