"""Group commit for holds (DESIGN 11).

Concurrent hold requests queue here; one writer thread takes what has queued (waiting at most ``window``
for more), decides every request in memory against the locked rows in arrival order, writes one net change
per balance row, inserts the holds and idempotency records, and commits once. Only then is each caller
answered. A hot SKU's row is updated once per batch instead of once per request, and the commit (the fsync)
is paid once per batch: that is what lifts the ceiling of one hot-row update per commit latency.

Each request keeps its own all-or-nothing answer: a short or malformed request gets its own error and
leaves the running balance untouched for its neighbours; a repeated Idempotency-Key gets the first answer.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from seamline.domain.clock import iso_utc
from seamline.domain.errors import Conflict, SeamlineError, Shortage, Unavailable
from seamline.domain.ids import random_hex
from seamline.ledger.batch import Demand, Granted, decide_all, rows_needed
from seamline.ledger.holds import resolve_demand
from seamline.ledger.model import HoldLineRequest
from seamline.service import metrics
from seamline.service.app import IdempotencyKey, Seamline, Stored
from seamline.service.group_commit import drain_in_batches
from seamline.service.principal import require_till_channel
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, idempotency_repo, ledger_repo

log = logging.getLogger("seamline.batcher")


@dataclass
class HoldRequest:
    channel: str | None
    lines: Sequence[HoldLineRequest]
    ttl_seconds: int | None
    idem: IdempotencyKey | None
    trace_id: str | None
    #: How the caller is answered: a thread blocks on ``future``; a caller on an event loop awaits ``waiter``,
    #: settled there once per batch per loop (see ``_answer``). Exactly one of the two is set.
    future: Future[Stored] | None = None
    waiter: asyncio.Future[Stored] | None = None
    #: A store token's hold for a channel it does not own: the stores its lines name, every one of which
    #: the channel must be a till channel of (``principal.is_till_channel``), decided in the batch.
    till_of: tuple[str, ...] | None = None
    enqueued: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class BatchSettings:
    window_seconds: float = 0.0005
    max_batch: int = 256
    max_queue: int = 4096
    answer_timeout_seconds: float = 30.0


class HoldBatcher:
    def __init__(self, app: Seamline, settings: BatchSettings | None = None) -> None:
        self.app = app
        self.settings = settings or BatchSettings()
        self._queue: queue.Queue[HoldRequest | None] = queue.Queue(maxsize=self.settings.max_queue)
        self._thread: threading.Thread | None = None
        self._deadlines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Deadlines] = weakref.WeakKeyDictionary()
        self._deadlines_guard = threading.Lock()

    # ------------------------------------------------------------------ callers
    def place_hold(
        self,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        idem: IdempotencyKey | None = None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> Stored:
        """Queue a hold and wait for its batch to commit. Beyond the queue bound: 503, never an endless wait."""
        future: Future[Stored] = Future()
        self._enqueue(HoldRequest(channel, lines, ttl_seconds, idem, trace_id, future=future, till_of=till_of))
        try:
            stored = future.result(timeout=self.settings.answer_timeout_seconds)
        except TimeoutError:
            raise Unavailable("the hold was not answered in time; retry with the same Idempotency-Key") from None
        return stored

    async def place_hold_async(
        self,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        idem: IdempotencyKey | None = None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> Stored:
        """``place_hold`` for an event loop: the caller awaits the batch without occupying a thread."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Stored] = loop.create_future()
        self._enqueue(HoldRequest(channel, lines, ttl_seconds, idem, trace_id, waiter=waiter, till_of=till_of))
        self._deadlines_of(loop).add(loop.time() + self.settings.answer_timeout_seconds, waiter)
        return await waiter

    def _deadlines_of(self, loop: asyncio.AbstractEventLoop) -> _Deadlines:
        deadlines = self._deadlines.get(loop)
        if deadlines is None:
            with self._deadlines_guard:
                deadlines = self._deadlines.get(loop)
                if deadlines is None:
                    interval = min(1.0, self.settings.answer_timeout_seconds / 10)
                    deadlines = self._deadlines[loop] = _Deadlines(interval)
        return deadlines

    def _enqueue(self, request: HoldRequest) -> None:
        if self._thread is None:
            raise RuntimeError("HoldBatcher.start() was not called")
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            metrics.BATCH_REJECTED.inc()
            raise Unavailable("too many hold requests queued; retry shortly", retry_after=1) from None

    # ------------------------------------------------------------------ the writer
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="seamline-hold-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        drain_in_batches(self._queue, self.settings.window_seconds, self.settings.max_batch, self._execute)

    def _execute(self, batch: list[HoldRequest]) -> None:
        started = time.perf_counter()
        metrics.BATCH_QUEUE_DEPTH.set(self._queue.qsize())
        for request in batch:
            metrics.BATCH_QUEUE_WAIT.observe(started - request.enqueued)
        try:
            outcomes = self.app.write(lambda uow: self._apply(uow, batch))
        except Exception as exc:  # the batch's transaction failed as a whole: every caller learns why
            log.exception("hold batch of %d failed", len(batch))
            _answer(batch, [exc] * len(batch))
            return
        metrics.BATCH_SIZE.observe(len(batch))
        metrics.BATCH_COMMIT_SECONDS.observe(time.perf_counter() - started)
        held = short = units = 0
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                short += isinstance(outcome, Shortage)
            elif not outcome.replayed:
                held += 1
                units += sum(line["qty"] for line in outcome.body["lines"])
        _answer(batch, outcomes)
        # Counted once per batch, not per request: the hot path pays for one metric update, not hundreds.
        metrics.HOLDS.labels("held").inc(held)
        metrics.HOLDS.labels("short").inc(short)
        metrics.HOLD_UNITS.inc(units)

    def _apply(self, uow: UnitOfWork, batch: list[HoldRequest]) -> list[Stored | SeamlineError]:
        """Decide and write a whole batch in the caller's transaction; return one outcome per request."""
        conn = uow.conn
        now = self.app.clock.now()
        outcomes: list[Stored | SeamlineError | None] = [None] * len(batch)

        # Idempotency: stored answers, and repeats within this batch answered by their first occurrence.
        keyed = [r.idem for r in batch if r.idem is not None]
        pairs = [(k.principal, k.key) for k in keyed]
        idempotency_repo.lock_keys(conn, pairs)  # a key in a concurrent batch: wait for it, then replay it
        stored = idempotency_repo.find_many(conn, pairs)
        first_in_batch: dict[tuple[str, str], int] = {}
        repeats: dict[int, int] = {}
        for i, request in enumerate(batch):
            if request.idem is None:
                continue
            pair = (request.idem.principal, request.idem.key)
            prior = stored.get(pair)
            if prior is not None:
                outcomes[i] = _replay(prior["request_hash"], prior["status_code"], prior["response"], request.idem)
            elif pair in first_in_batch:
                repeats[i] = first_in_batch[pair]
            else:
                first_in_batch[pair] = i

        # Validate every request with a handful of batch-wide lookups.
        pending = [i for i in range(len(batch)) if outcomes[i] is None and i not in repeats]
        lookups = ledger_repo.hold_lookups(
            conn,
            [line.sku for i in pending for line in batch[i].lines],
            [channel for i in pending if (channel := batch[i].channel) is not None],
            [channel for i in pending if (channel := batch[i].channel) is not None and batch[i].till_of],
        )
        kinds, locations, sourcing = lookups.sku_kinds, lookups.location_kinds, lookups.sourcing
        packs = catalog_repo.prepack_map(conn, [s for s, k in kinds.items() if k == "prepack"])
        resolved: dict[int, dict[tuple[str, str | None], int]] = {}
        ttls: dict[int, int] = {}
        for i in pending:
            request = batch[i]
            try:
                ttls[i] = self.app.check_ttl(request.ttl_seconds)
                channel_sourcing = sourcing.get(request.channel) if request.channel is not None else None
                if request.channel is not None and channel_sourcing is None:
                    raise self.app.unknown_channel(request.channel)
                if request.till_of is not None and request.channel is not None:
                    require_till_channel(
                        request.channel,
                        lookups.channel_kinds.get(request.channel),
                        channel_sourcing[0] if channel_sourcing else [],
                        request.till_of,
                    )
                resolved[i] = resolve_demand(
                    request.channel,
                    request.lines,
                    kinds,
                    packs,
                    locations,
                    channel_sourcing[0] if channel_sourcing is not None else None,
                )
            except SeamlineError as exc:
                outcomes[i] = exc
                continue
        # The channel bounds (DESIGN 4.4): one read of the policies for the batch's component SKUs.
        channel_skus = {sku for i, d in resolved.items() if batch[i].channel is not None for sku, _ in d}
        rules = self.app.hold_rules(conn, {c for i in resolved if (c := batch[i].channel)}, channel_skus)
        demands: dict[int, Demand] = {}
        for i, demand in resolved.items():
            channel = batch[i].channel
            sources, split = sourcing[channel] if channel is not None else ([], False)
            demands[i] = Demand(
                tuple((sku, loc, qty) for (sku, loc), qty in demand.items()),
                tuple(sources),
                split,
                rules.get(channel) if channel is not None else None,
            )

        # Holds past their TTL on these SKUs give their units back first (evaluated here, not left to a cron).
        # Their rows and the batch's are locked in one ordered statement first (issue 16): locking them in two
        # rounds would hold a late row of the first while waiting for an early row of the second.
        skus = sorted({sku for d in demands.values() for sku, _, _ in d.lines})
        order = sorted(demands)
        needed = rows_needed(demands[i] for i in order)
        lapsed = ledger_repo.expired_hold_ids(conn, now, skus=skus) if skus else []
        ledger_repo.lock_available(conn, needed | set(ledger_repo.hold_rows(conn, lapsed)))
        if lapsed:
            ledger_repo.expire_holds(uow, lapsed, now)
        available = ledger_repo.lock_available(conn, needed)
        decisions, net = decide_all(available, [demands[i] for i in order])
        ledger_repo.add_reserved(uow, net)

        hold_rows: list[ledger_repo.NewHold] = []
        line_rows: list[tuple[str, int, str, str, int]] = []
        records: list[dict[str, Any]] = []
        created = iso_utc(now)
        expiry: dict[int, tuple[datetime, str]] = {}  # per TTL: most of a batch shares one
        for i, decision in zip(order, decisions, strict=True):
            request = batch[i]
            if not isinstance(decision, Granted):
                outcomes[i] = Shortage(list(decision.lines))
                continue
            ttl = ttls[i]
            if ttl not in expiry:
                at = now + timedelta(seconds=ttl)
                expiry[ttl] = (at, iso_utc(at))
            expires_at, expires_iso = expiry[ttl]
            hold_id = "hld_" + random_hex()
            hold_rows.append(ledger_repo.NewHold(hold_id, request.channel, now, expires_at, request.trace_id))
            line_rows.extend((hold_id, n, sku, loc, qty) for n, (sku, loc, qty) in enumerate(decision.lines, start=1))
            body = {
                "id": hold_id,
                "status": "held",
                "channel": request.channel,
                "lines": [{"sku": s, "location": loc, "qty": q} for s, loc, q in decision.lines],
                "created_at": created,
                "expires_at": expires_iso,
                "ended_at": None,
                "document": None,
            }
            outcomes[i] = Stored(201, body)
            if request.idem is not None:
                records.append(
                    {
                        "principal": request.idem.principal,
                        "key": request.idem.key,
                        "request_hash": request.idem.request_hash,
                        "status_code": 201,
                        "response": body,
                        "created_at": now,
                    }
                )
        ledger_repo.insert_holds(conn, hold_rows, line_rows)
        idempotency_repo.save_many(conn, records)

        for i, first in repeats.items():
            idem, first_idem = batch[i].idem, batch[first].idem
            assert idem is not None
            assert first_idem is not None
            earlier = outcomes[first]
            if isinstance(earlier, Stored):
                outcomes[i] = _replay(first_idem.request_hash, earlier.status_code, earlier.body, idem)
            elif first_idem.request_hash != idem.request_hash:
                outcomes[i] = _replay(first_idem.request_hash, 0, None, idem)  # a Conflict, whatever the first did
            else:
                # The first attempt failed and stored nothing: this repeat raced it and saw the same stock.
                outcomes[i] = earlier
        final: list[Stored | SeamlineError] = []
        for outcome in outcomes:
            assert outcome is not None
            final.append(outcome)
        return final


class _Deadlines:
    """The answer-time limit of one event loop's waiting callers, checked by one timer for the loop instead of
    one per request (``asyncio.timeout`` per hold was 7% of the event loop's time under load: a timer pushed
    onto the loop's heap and cancelled again for every request). Every caller of a batcher waits the same
    time, so deadlines come in arrival order and a sweep only looks at the oldest. A caller is failed at most
    ``interval`` after its deadline. Used only from its loop's thread."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.pending: deque[tuple[float, asyncio.Future[Stored]]] = deque()
        self.sweeping = False

    def add(self, deadline: float, waiter: asyncio.Future[Stored]) -> None:
        self.pending.append((deadline, waiter))
        if not self.sweeping:
            self.sweeping = True
            waiter.get_loop().call_later(self.interval, self.sweep)

    def sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now, pending = loop.time(), self.pending
        while pending and (pending[0][1].done() or pending[0][0] <= now):
            _, waiter = pending.popleft()
            if not waiter.done():  # its batch has not answered: the caller stops waiting (its hold may stand)
                waiter.set_exception(
                    Unavailable("the hold was not answered in time; retry with the same Idempotency-Key")
                )
        if pending:
            loop.call_later(self.interval, self.sweep)
        else:
            self.sweeping = False


def _answer(batch: Sequence[HoldRequest], outcomes: Sequence[Stored | BaseException]) -> None:
    """Answer every caller of a batch. Callers on an event loop are answered by one callback per loop (one
    wake-up of that loop for the whole batch, instead of one per request as ``wrap_future`` would cost)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Stored], Stored | BaseException]]] = {}
    for request, outcome in zip(batch, outcomes, strict=True):
        if request.waiter is not None:
            by_loop.setdefault(request.waiter.get_loop(), []).append((request.waiter, outcome))
        elif request.future is None:
            continue  # nobody to answer (cannot happen through place_hold and place_hold_async)
        elif isinstance(outcome, BaseException):
            request.future.set_exception(outcome)
        else:
            request.future.set_result(outcome)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            log.warning("an event loop closed with %d hold answers pending", len(answers))


def _settle(answers: list[tuple[asyncio.Future[Stored], Stored | BaseException]]) -> None:
    for waiter, outcome in answers:
        if waiter.done():  # the caller went away (disconnect, timeout): its hold stands, like any answered one
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _replay(first_hash: str, status: int, body: Any, idem: IdempotencyKey) -> Stored | SeamlineError:
    if first_hash != idem.request_hash:
        return Conflict("this Idempotency-Key was already used with a different request", code="idempotency-key-reused")
    metrics.IDEMPOTENT_REPLAYS.inc()
    return Stored(status, body, replayed=True)
