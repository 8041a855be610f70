"""The dispatcher (DESIGN 8): claims due deliveries, hands them to their subscriber, and records the outcome.

- Claims are leases (``locked_until``): a dispatcher that dies mid-delivery loses its lease, and another one
  (or itself, restarted) delivers again. Delivery is at least once; subscribers apply by event id.
- Failures back off exponentially with jitter, or wait the platform's ``Retry-After``; a 429 does not use
  up an attempt. After ``max_attempts`` the delivery is dead-lettered, and stays until replayed.
- Per subscriber: at most ``max_concurrency`` batches in flight and a token bucket that the subscriber can
  correct with the platform's live budget. The bucket lives in the database, shared by every process that
  delivers to that subscriber: a platform's rate limit is per account, not per process.
- It wakes at once when a transaction that wrote events commits (in this process: the commit signal; in
  another process: PostgreSQL NOTIFY or the NATS message), else at the next due retry, else on a slow poll.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import Clock
from seamline.integration import availability_batches, metrics, tracing
from seamline.integration.channel_errors import ChannelError
from seamline.integration.events import AVAILABILITY_BATCH, AVAILABILITY_CHANGED, Delivery
from seamline.integration.outbox import new_event_id
from seamline.integration.retry import Backoff
from seamline.integration.settings import IntegrationSettings
from seamline.integration.shared_limits import SharedTokenBucket
from seamline.integration.subscribers import (
    Delivered,
    DeliveryFailed,
    DeliveryRejected,
    RateLimited,
    Subscriber,
    SubscriberRegistry,
    delivery_outcome,
)
from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.store import outbox_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.dispatcher")

GAUGE_REFRESH_SECONDS = 15.0
#: How many newer numbers of one key a NATS worker delivers in a row after its own (see ``_chain``).
CHAIN_LIMIT = 20


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    result: str  # succeeded | failed | rate_limited | rejected | stale
    error: str | None = None
    retry_after: float | None = None
    finished: datetime | None = None  # the application clock when the subscriber answered


class Dispatcher:
    def __init__(
        self,
        app: Seamline,
        registry: SubscriberRegistry,
        settings: IntegrationSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        fresh_grace: float | None = None,
    ) -> None:
        self.app = app
        self.engine = app.engine
        self.registry = registry
        self.settings = settings
        self.clock = clock or app.clock
        self.rng = rng or random.Random()
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.backoff = Backoff(settings.backoff_base_seconds, settings.backoff_cap_seconds)
        #: In NATS mode fresh deliveries belong to the broker's consumers for this long; the loop here takes
        #: only retries, replays and stragglers.
        self.fresh_grace = fresh_grace
        self.heartbeats: dict[str, datetime] = {}
        self._buckets: dict[str, SharedTokenBucket] = {}
        self._lock = threading.Lock()
        self._loop = BackgroundLoop("seamline-dispatcher", self._turn, logger=log)
        self._inflight: dict[str, int] = {}
        self._idle: dict[str, bool] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._gauges_at = 0.0
        #: Called before a synchronous ``run_once`` claims (the availability publisher's flush).
        self.before_claim: list[Callable[[], object]] = []

    # ------------------------------------------------------------------ rate limits
    def bucket(self, subscriber: Subscriber) -> SharedTokenBucket | None:
        if subscriber.rate_per_second is None:
            return None
        with self._lock:
            bucket = self._buckets.get(subscriber.name)
            if bucket is None:
                bucket = self._buckets[subscriber.name] = SharedTokenBucket(
                    self.engine, f"subscriber:{subscriber.name}", subscriber.rate_per_second, subscriber.burst
                )
            return bucket

    def acquire(self, subscriber: Subscriber, stop: threading.Event | None = None) -> bool:
        """Wait for one token (the NATS path delivers one message at a time). False if stopped first."""
        bucket = self.bucket(subscriber)
        while bucket is not None and not bucket.take(1):
            if (stop or self._loop.stop_event).wait(min(1.0, max(0.001, bucket.wait_time()))):
                return False
        return True

    # ------------------------------------------------------------------ one batch, synchronously
    def run_once(self, subscriber: str | None = None) -> int:
        """Claim and deliver one batch per subscriber (or for one); answers how many were attempted."""
        for prepare in self.before_claim:
            prepare()
        subs = [s for s in self.registry if subscriber is None or s.name == subscriber]
        return sum(self._work_batch(s) for s in subs)

    def drain(self, *, rounds: int = 10_000) -> int:
        """Deliver until nothing is due now (tests and the CLI use it)."""
        total = 0
        for _ in range(rounds):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    def _work_batch(self, sub: Subscriber) -> int:
        self._beat(sub.name)
        want = self.settings.batch_size
        if sub.deliver_batch is not None and sub.batch_size is not None:
            want = sub.batch_size
        bucket = self.bucket(sub)
        if bucket is not None:
            want = bucket.take(want)
            if want == 0:
                return 0
        now = self.clock.now()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        fresh_before = None if self.fresh_grace is None else now - timedelta(seconds=self.fresh_grace)

        def claim(conn: Connection) -> list[Delivery]:
            rows = outbox_repo.claim_due(
                conn,
                sub.name,
                now=now,
                limit=want,
                lease_until=lease,
                worker=self.worker_id,
                fresh_before=fresh_before,
                max_concurrency=sub.max_concurrency,
            )
            return [self._delivery(conn, sub, row) for row in rows]

        claimed = run_transaction(self.engine, claim)
        if bucket is not None and len(claimed) < want:
            bucket.give_back(want - len(claimed))
        if claimed:
            self._finish(sub, self._attempt_all(sub, claimed))
        return len(claimed)

    def deliver_event(self, subscriber: str, event_id: str) -> str:
        """Deliver one event to one subscriber now if its delivery is due and free (the NATS consumers' path).

        Answers what happened: ``succeeded``, ``failed``, ``dead``, ``superseded``, ``rate_limited``, or why
        nothing was attempted: ``missing``, ``done``, ``scheduled``, ``busy``."""
        return self.deliver_events(subscriber, [event_id])[0]

    def deliver_events(self, subscriber: str, event_ids: Sequence[str]) -> list[str]:
        """``deliver_event`` for a batch of broker messages: one transaction claims them all, the subscriber
        is called once per delivery (or once, if it takes batches), one transaction records the outcomes."""
        sub = self.registry.get(subscriber)
        if sub is None:
            return ["missing"] * len(event_ids)
        self._beat(sub.name)
        now = self.clock.now()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        states = run_transaction(
            self.engine, lambda c: outbox_repo.delivery_states(c, sub.name, event_ids), write=False
        )
        answers: dict[str, str] = {}
        wanted: list[str] = []
        for event_id in event_ids:
            known = states.get(event_id)
            if known is None:
                answers[event_id] = "missing"
            elif known[0] != "pending":
                answers[event_id] = "done"
            elif known[1] > now:
                answers[event_id] = "scheduled"
            else:
                wanted.append(event_id)

        def claim(conn: Connection) -> tuple[dict[str, str], list[Delivery]]:
            refused: dict[str, str] = {}
            claimed: list[Delivery] = []
            for event_id in wanted:
                state, row = outbox_repo.claim_event(
                    conn,
                    sub.name,
                    event_id,
                    now=now,
                    lease_until=lease,
                    worker=self.worker_id,
                    max_concurrency=None if claimed else sub.max_concurrency,
                )
                if row is None:
                    refused[event_id] = state
                else:
                    claimed.append(self._delivery(conn, sub, row))
            return refused, claimed

        if wanted:
            refused, claimed = run_transaction(self.engine, claim)
            answers.update(refused)
            if claimed:
                results = self._finish(sub, self._attempt_all(sub, claimed))
                answers.update({d.event_id: r for d, r in zip(claimed, results, strict=True)})
                for delivery in claimed:
                    self._chain(sub, delivery)
        return [answers[e] for e in event_ids]

    def _chain(self, sub: Subscriber, delivered: Delivery) -> None:
        """Deliver the newest number of the same coalesce key if one arrived while ``delivered`` was in flight.

        Its broker message found the key busy and was acknowledged (the NATS consumer's ``busy``): the worker
        that held the key takes it over here, instead of the broker redelivering it after a delay."""
        key = delivered.extra.get("coalesce_key")
        if not key:
            return
        for _ in range(CHAIN_LIMIT):
            now = self.clock.now()
            lease = now + timedelta(seconds=self.settings.lease_seconds)

            def claim(conn: Connection, now: datetime = now, lease: datetime = lease) -> Delivery | None:
                row = outbox_repo.claim_next_of_key(
                    conn, sub.name, str(key), now=now, lease_until=lease, worker=self.worker_id
                )
                return None if row is None else self._delivery(conn, sub, row)

            following = run_transaction(self.engine, claim)
            if following is None:
                return
            self._finish(sub, self._attempt_all(sub, [following]))

    def _delivery(self, conn: Connection, sub: Subscriber, row: dict[str, Any]) -> Delivery:
        payload = row["payload"]
        previous = sub.delivery_policy.previous(conn, sub.name, row["event_type"], payload)
        return Delivery(
            id=int(row["id"]),
            subscriber=row["subscriber"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            event_seq=int(row["event_seq"]),
            payload=payload,
            trace_id=row["trace_id"],
            created_at=row["event_created_at"],
            attempt=int(row["attempts"]) + 1,
            previous=previous,
            extra={"coalesce_key": row["coalesce_key"]},
        )

    def _attempt_all(self, sub: Subscriber, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One call per delivery, or one call for the batch when the subscriber takes batches. What the
        subscriber's policy calls stale is retired without calling it (a coalescing subscriber only: an audit
        subscriber gets every event, old or not)."""
        batches = {d.id: self._attempt_numbers(sub, d) for d in deliveries if d.event_type == AVAILABILITY_BATCH}
        stale = {
            d.id: Outcome(d, "stale", "a newer number was already published")
            for d in deliveries
            if d.id not in batches and sub.coalesce and sub.delivery_policy.stale(d)
        }
        fresh = [d for d in deliveries if d.id not in stale and d.id not in batches]
        answered = {o.delivery.id: o for o in self._attempt_fresh(sub, fresh)} if fresh else {}
        return [batches.get(d.id) or stale.get(d.id) or answered[d.id] for d in deliveries]

    def _attempt_numbers(self, sub: Subscriber, batch: Delivery) -> Outcome:
        """An ``AvailabilityBatch``: its SKUs as the ``AvailabilityChanged`` deliveries the subscriber takes,
        in calls of its batch size, each call's outcomes recorded per SKU as it answers
        (``integration.availability_batches``). The batch succeeds once every SKU is shown or refused; a
        temporary failure retries it for the SKUs left; a batch longer than half the lease hands back the
        rest as due now (``rate_limited`` with no wait: no attempt used), so the lease never runs out under
        it."""
        channel = str(batch.payload["channel"])

        def read(conn: Connection) -> list[Delivery]:
            numbers = outbox_repo.numbers_of_event(conn, sub.name, channel, batch.event_id)
            shown = {n["sku"]: n["shown"] for n in numbers if n["shown"] is not None}
            waiting = outbox_repo.keys_waiting_after(conn, sub.name, batch.event_seq)
            return availability_batches.expand(batch, numbers, shown, waiting)

        members = run_transaction(self.engine, read, write=False)
        size = max(1, sub.batch_size or self.settings.batch_size)
        deadline = time.monotonic() + self.settings.lease_seconds / 2
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            if start and not self._tokens(sub, 1 if sub.deliver_batch is not None else len(chunk), deadline):
                return self._continues(batch, len(members) - start, len(members))
            settled = availability_batches.settle(
                [(o.delivery, o.result, o.error, o.retry_after) for o in self._attempt_fresh(sub, chunk)]
            )
            self._record_members(sub, channel, batch, settled)
            if settled.retry is not None:
                result, error, retry_after = settled.retry
                left = len(members) - start - len(settled.shown) - len(settled.refused)
                reason = f"{left} of {len(members)} SKUs of the batch wait: {error}"
                return Outcome(batch, result, reason, retry_after, self.clock.now())
            if start + size < len(members) and time.monotonic() > deadline:
                return self._continues(batch, len(members) - start - size, len(members))
        return Outcome(batch, "succeeded", finished=self.clock.now())

    def _continues(self, batch: Delivery, left: int, total: int) -> Outcome:
        return Outcome(batch, "rate_limited", f"continues: {left} of {total} SKUs left", 0.0, self.clock.now())

    def _tokens(self, sub: Subscriber, wanted: int, deadline: float) -> bool:
        """Take ``wanted`` tokens of the subscriber's bucket, waiting for them until ``deadline``."""
        bucket = self.bucket(sub)
        while bucket is not None and wanted > 0:
            wanted -= bucket.take(wanted)
            if wanted and (time.monotonic() > deadline or self._loop.stop_event.wait(max(0.001, bucket.wait_time()))):
                return False
        return True

    def _record_members(
        self, sub: Subscriber, channel: str, batch: Delivery, settled: availability_batches.Settled
    ) -> None:
        """Record one call's SKUs: those delivered as shown; each refused one as a dead letter of its own
        (unless a newer number of it exists: that one goes out instead), so a retry of the batch skips it."""
        if not settled.shown and not settled.refused:
            return

        def record(conn: Connection) -> None:
            now = self.clock.now()
            sub.delivery_policy.delivered_many(conn, sub.name, settled.shown, now)
            skus = [str(d.payload["sku"]) for d, _ in settled.refused]
            current = outbox_repo.still_named_by(conn, channel, skus, batch.event_id)
            for member, reason in settled.refused:
                sku = str(member.payload["sku"])
                if sku not in current:
                    continue
                event = {
                    "id": new_event_id(),
                    "type": AVAILABILITY_CHANGED,
                    "channel": channel,
                    "coalesce_key": availability_batches.coalesce_key(channel, sku),
                    "payload": dict(member.payload),
                    "trace_id": member.trace_id,
                }
                outbox_repo.add_dead_letter(conn, event, sub.name, f"{reason} (from {batch.event_id})", now)

        run_transaction(self.engine, record)
        if settled.refused:
            metrics.DELIVERIES.labels(sub.name, "dead").inc(len(settled.refused))
            self.refresh_gauges()

    def _attempt_fresh(self, sub: Subscriber, deliveries: Sequence[Delivery]) -> list[Outcome]:
        if sub.deliver_batch is None:
            return [self._attempt(sub, d) for d in deliveries]
        batch = sub.deliver_batch
        with tracing.traced(deliveries[0].trace_id):
            try:
                answers = list(batch(deliveries))
            except Exception as exc:  # noqa: BLE001 - the whole call failed: each delivery failed the same way
                return [self._outcome(sub, d, exc) for d in deliveries]
        if len(answers) != len(deliveries):
            error = RuntimeError(f"{sub.name} answered {len(answers)} results for {len(deliveries)} deliveries")
            return [self._outcome(sub, d, error) for d in deliveries]
        return [self._outcome(sub, d, answer) for d, answer in zip(deliveries, answers, strict=True)]

    def _attempt(self, sub: Subscriber, delivery: Delivery) -> Outcome:
        with tracing.traced(delivery.trace_id):
            try:
                answer: Delivered | BaseException | None = sub.deliver(delivery)
            except Exception as exc:  # noqa: BLE001 - classified below; a connector's bug is a failed delivery
                answer = exc
        return self._outcome(sub, delivery, answer)

    def _outcome(self, sub: Subscriber, delivery: Delivery, answer: Delivered | BaseException | None) -> Outcome:
        if isinstance(answer, ChannelError):  # a platform's answer a connector let through: the one translation
            answer = delivery_outcome(answer)
        bucket = self.bucket(sub)
        if isinstance(answer, RateLimited):
            if bucket is not None:
                bucket.pause(answer.retry_after if answer.retry_after is not None else 1.0)
            return Outcome(delivery, "rate_limited", answer.reason, answer.retry_after, self.clock.now())
        if isinstance(answer, DeliveryFailed):
            if bucket is not None and answer.budget is not None:
                bucket.observe(answer.budget)
            if bucket is not None and answer.retry_after is not None:
                bucket.pause(answer.retry_after)
            return Outcome(delivery, "failed", answer.reason, answer.retry_after, self.clock.now())
        if isinstance(answer, DeliveryRejected):
            return Outcome(delivery, "rejected", answer.reason, None, self.clock.now())
        if isinstance(answer, BaseException):  # a connector's bug is a failed delivery, not a dead dispatcher
            return Outcome(delivery, "failed", f"{type(answer).__name__}: {answer}", None, self.clock.now())
        if isinstance(answer, Delivered) and answer.budget is not None and bucket is not None:
            bucket.observe(answer.budget)
        return Outcome(delivery, "succeeded", finished=self.clock.now())

    def _finish(self, sub: Subscriber, outcomes: Sequence[Outcome]) -> list[str]:
        """Record every outcome of a batch in one transaction, then count them."""
        max_attempts = sub.max_attempts or self.settings.max_attempts

        def record(conn: Connection) -> list[str]:
            now = self.clock.now()
            return [self._record_one(conn, sub, o, now, max_attempts) for o in outcomes]

        results = run_transaction(self.engine, record)
        dead = False
        for outcome, result in zip(outcomes, results, strict=True):
            d = outcome.delivery
            if result == "unchanged":
                continue
            metrics.DELIVERIES.labels(sub.name, result).inc()
            if result == "succeeded":
                finished = outcome.finished or self.clock.now()
                metrics.DELIVERY_LAG.labels(sub.name).observe(max(0.0, (finished - d.created_at).total_seconds()))
                log.debug(
                    "delivered %s %s to %s",
                    d.event_type,
                    d.event_id,
                    sub.name,
                    extra={"trace_id": d.trace_id, "event_id": d.event_id, "subscriber": sub.name},
                )
            else:
                dead = dead or result == "dead"
                log.log(
                    logging.INFO if outcome.result == "stale" else logging.WARNING,
                    "delivery %s of %s %s to %s: %s after attempt %d: %s (trace %s)",
                    d.id,
                    d.event_type,
                    d.event_id,
                    sub.name,
                    result,
                    d.attempt,
                    outcome.error,
                    d.trace_id,
                    extra={"trace_id": d.trace_id, "event_id": d.event_id, "subscriber": sub.name},
                )
        if dead:
            self.refresh_gauges()
        return results

    def _record_one(self, conn: Connection, sub: Subscriber, o: Outcome, now: datetime, max_attempts: int) -> str:
        d = o.delivery
        if o.result == "succeeded":
            if not outbox_repo.record_success(conn, d.id, now):
                return "unchanged"
            sub.delivery_policy.delivered(conn, sub.name, d, now)
            return "succeeded"
        error = o.error or o.result
        if o.result == "stale":
            status = outbox_repo.record_failure(
                conn, d.id, subscriber=sub.name, now=now, error=error, next_attempt_at=now, counts=False, supersede=True
            )
            return "superseded" if status == "superseded" else status
        key = d.extra.get("coalesce_key")
        superseded = bool(key) and outbox_repo.newer_pending(conn, sub.name, str(key), d.id)
        if o.result == "rejected":
            status = outbox_repo.record_failure(
                conn, d.id, subscriber=sub.name, now=now, error=error, next_attempt_at=None
            )
        elif o.result == "rate_limited":
            wait = o.retry_after if o.retry_after is not None else self.backoff.delay(1, self.rng)
            status = outbox_repo.record_failure(
                conn,
                d.id,
                subscriber=sub.name,
                now=now,
                error=error,
                next_attempt_at=now + timedelta(seconds=wait),
                counts=False,
                supersede=superseded,
            )
            return "superseded" if status == "superseded" else ("rate_limited" if status != "unchanged" else status)
        elif d.attempt >= max_attempts:
            status = outbox_repo.record_failure(
                conn, d.id, subscriber=sub.name, now=now, error=error, next_attempt_at=None
            )
        else:
            wait = max(self.backoff.delay(d.attempt, self.rng), o.retry_after or 0.0)
            status = outbox_repo.record_failure(
                conn,
                d.id,
                subscriber=sub.name,
                now=now,
                error=error,
                next_attempt_at=now + timedelta(seconds=wait),
                supersede=superseded,
            )
        return {"pending": "failed"}.get(status, status)

    # ------------------------------------------------------------------ metrics
    def _beat(self, name: str) -> None:
        self.heartbeats[name] = self.clock.now()
        metrics.HEARTBEAT.labels(name).set(time.time())

    def refresh_gauges(self) -> None:
        depth = run_transaction(self.engine, outbox_repo.dead_letter_depth, write=False)
        now = self.clock.now()
        for sub in set(self.registry.names()) | set(depth):
            count, oldest = depth.get(sub, (0, None))
            metrics.DEAD_LETTERS.labels(sub).set(count)
            metrics.DEAD_LETTER_OLDEST_AGE.labels(sub).set(0 if oldest is None else (now - oldest).total_seconds())
        self._gauges_at = time.monotonic()

    # ------------------------------------------------------------------ the background loop
    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        if self._loop.running:
            return
        workers = max(1, sum(s.max_concurrency for s in self.registry))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seamline-delivery")
        self._gauges_at = 0.0  # the first turn reads the dead-letter gauges
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        try:
            run_transaction(self.engine, lambda conn: outbox_repo.release_claims(conn, self.worker_id))
        except Exception:  # noqa: BLE001 - leases expire on their own; stopping must not fail over this
            log.warning("could not release delivery leases on stop; they will expire", exc_info=True)

    def _turn(self) -> float:
        if not self._gauges_at or time.monotonic() - self._gauges_at > GAUGE_REFRESH_SECONDS:
            try:
                self.refresh_gauges()
            except Exception:  # noqa: BLE001 - metrics must not keep deliveries from going out
                log.exception("could not read dead-letter depth")
        with self._lock:
            self._idle = dict.fromkeys(self._idle, False)
        self._submit_ready()
        return self._idle_timeout()

    def _submit_ready(self) -> None:
        assert self._pool is not None
        for sub in self.registry:
            with self._lock:
                if self._idle.get(sub.name) or self._inflight.get(sub.name, 0) >= sub.max_concurrency:
                    continue
                self._inflight[sub.name] = self._inflight.get(sub.name, 0) + 1
            self._pool.submit(self._job, sub)

    def _job(self, sub: Subscriber) -> None:
        claimed = 0
        try:
            claimed = self._work_batch(sub)
        except Exception:  # noqa: BLE001 - the database may be briefly away; try again on the next wake
            log.exception("dispatching to %s failed; will retry", sub.name)
            time.sleep(0.5)
        finally:
            with self._lock:
                self._inflight[sub.name] -= 1
                if claimed == 0:
                    self._idle[sub.name] = True
            # A batch that found nothing does not wake the loop (that would spin); one that did may have left
            # more behind, so go round again.
            if claimed:
                self._loop.wake()

    def _idle_timeout(self) -> float:
        timeout = self.settings.poll_seconds
        with self._lock:
            busy = any(self._inflight.values())
        for sub in self.registry:
            bucket = self.bucket(sub)
            if bucket is not None:
                wait = bucket.wait_time()
                if wait > 0:
                    timeout = min(timeout, wait)
        if busy:
            return timeout
        try:
            due = run_transaction(
                self.engine, lambda conn: outbox_repo.next_due(conn, self.registry.names()), write=False
            )
        except Exception:  # noqa: BLE001
            return timeout
        if due is not None:
            seconds = (due - self.clock.now()).total_seconds()
            if self.fresh_grace is not None:
                seconds = max(seconds, 0.25)
            timeout = min(timeout, max(0.02, seconds))
        return timeout
