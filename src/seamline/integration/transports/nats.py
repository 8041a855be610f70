"""NATS JetStream transport (DESIGN 8), for scale-out.

- The outbox relay publishes each event to ``<prefix>.<EventType>`` with ``Nats-Msg-Id`` = event id. It runs
  in one process of the installation at a time, the holder of the ``outbox-relay`` lease in the database
  (``service.coordination.Lease``), which another process takes over within about 1.3 x
  ``SEAMLINE_RELAY_LEASE_SECONDS`` when its holder dies. A relay that publishes twice all the same (a crash
  between publish and marking it relayed, a holder that stalled past its lease) is deduplicated by the broker.
- Workers consume with one durable pull consumer per (subscriber, event type) and explicit acks; several
  workers bound to the same durable consumer share its messages.
- The database stays the record of each delivery: a worker leases the delivery row for the message's
  (subscriber, event) before calling the subscriber, so a message redelivered by the broker (or a replay)
  has exactly one effect, and coalescing, retries and dead letters work as with the in-process transport.
  Retries are scheduled in the database and taken by the worker's dispatcher loop; the message is acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import uuid
from collections import Counter
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from seamline.domain.clock import iso_utc
from seamline.integration import metrics
from seamline.integration.dispatcher import Dispatcher
from seamline.integration.settings import IntegrationSettings
from seamline.integration.subscribers import Subscriber, SubscriberRegistry, taken_types
from seamline.service import Seamline
from seamline.service.coordination import Lease
from seamline.store import outbox_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.nats")

RELAY_BATCH = 500
RELAY_LEASE = "outbox-relay"


def event_message(row: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": row["id"],
            "seq": row["seq"],
            "type": row["type"],
            "channel": row["channel"],
            "coalesce_key": row.get("coalesce_key"),
            "payload": row["payload"],
            "trace_id": row["trace_id"],
            "created_at": iso_utc(row["created_at"]),
        },
        separators=(",", ":"),
    ).encode()


def durable_name(prefix: str, subscriber: str, event_type: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{prefix}-{subscriber}-{event_type}")


class NatsTransport:
    """Runs the relay and/or the consumers on an asyncio loop in a thread of its own."""

    def __init__(
        self,
        app: Seamline,
        registry: SubscriberRegistry,
        dispatcher: Dispatcher,
        settings: IntegrationSettings,
        *,
        relay: bool = True,
        consume: bool = True,
        fetch_batch: int = 32,
        name: str | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.dispatcher = dispatcher
        self.settings = settings
        self.url = settings.resolved_nats_url
        self.stream = settings.nats_stream
        self.prefix = settings.nats_subject_prefix
        self.relay = relay
        self.consume = consume
        self.fetch_batch = fetch_batch
        self.name = name or f"seamline-worker-{uuid.uuid4().hex[:8]}"
        self.relay_lease = Lease(app.engine, RELAY_LEASE, ttl=settings.relay_lease_seconds, clock=app.clock)
        self.ready = threading.Event()
        self.handled: Counter[str] = Counter()
        #: Events this transport's relay published (the lease holder's count; the others' stay at 0).
        self.relayed = 0
        self._acks: set[asyncio.Task[None]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._relay_wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None

    def subject(self, event_type: str) -> str:
        return f"{self.prefix}.{event_type}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_thread, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def wake(self) -> None:
        """Thread-safe: events were committed, relay them now."""
        loop, event = self._loop, self._relay_wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def _run_thread(self) -> None:
        while not self._stop.is_set():
            try:
                asyncio.run(self._main())
            except Exception:  # noqa: BLE001 - the broker may be away; try again shortly
                log.warning("NATS transport stopped with an error; reconnecting", exc_info=True)
                self._stop.wait(2.0)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._relay_wake = asyncio.Event()
        self._stopping = asyncio.Event()
        if self._stop.is_set():
            return
        nc = await nats.connect(self.url, name=self.name, max_reconnect_attempts=-1)
        try:
            js = nc.jetstream()
            await self.ensure_stream(js)
            tasks: list[asyncio.Task[None]] = []
            if self.relay:
                tasks.append(asyncio.create_task(self._relay_loop(js)))
            if self.consume:
                for sub in self.registry:
                    semaphore = asyncio.Semaphore(sub.max_concurrency)
                    for event_type in sorted(taken_types(sub.event_types)):
                        psub = await self._subscribe(js, sub, event_type)
                        tasks.append(asyncio.create_task(self._consume(psub, sub, semaphore)))
            self.ready.set()
            await self._stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.ready.clear()
            # Every ack was awaited already; draining would wait on the consumers' open pull requests.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), timeout=2.0)

    async def ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(StreamConfig(name=self.stream, subjects=[f"{self.prefix}.>"], duplicate_window=120))

    # ------------------------------------------------------------------ relay
    async def relay_once(self, js: JetStreamContext) -> int:
        rows = await asyncio.to_thread(
            run_transaction, self.app.engine, lambda c: outbox_repo.unrelayed(c, RELAY_BATCH), write=False
        )
        if not rows:
            return 0
        acks = await asyncio.gather(
            *(
                js.publish(self.subject(row["type"]), event_message(row), headers={"Nats-Msg-Id": row["id"]})
                for row in rows
            )
        )
        for ack in acks:
            metrics.RELAYED.labels("duplicate" if ack.duplicate else "published").inc()
        self.relayed += len(rows)
        now = self.app.clock.now()
        seqs = [int(row["seq"]) for row in rows]
        await asyncio.to_thread(run_transaction, self.app.engine, lambda c: outbox_repo.mark_relayed(c, seqs, now))
        return len(rows)

    async def _relay_loop(self, js: JetStreamContext) -> None:
        assert self._relay_wake is not None
        try:
            await self._relay_while_held(js)
        finally:
            await asyncio.to_thread(self.relay_lease.release)  # the next process takes over without waiting

    async def _relay_while_held(self, js: JetStreamContext) -> None:
        assert self._relay_wake is not None
        while True:
            self._relay_wake.clear()
            if not await asyncio.to_thread(self.relay_lease.held):
                # Another process relays; ask again when the lease could have run out.
                await asyncio.sleep(self.relay_lease.recheck_seconds)
                continue
            try:
                relayed = await self.relay_once(js)
            except Exception:  # noqa: BLE001 - publish or database trouble: try again shortly
                log.warning("outbox relay failed; retrying", exc_info=True)
                relayed = 0
                await asyncio.sleep(1.0)
            if relayed >= RELAY_BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                timeout = min(self.settings.poll_seconds, self.relay_lease.recheck_seconds)
                await asyncio.wait_for(self._relay_wake.wait(), timeout=timeout)

    # ------------------------------------------------------------------ consumers
    async def _subscribe(self, js: JetStreamContext, sub: Subscriber, event_type: str) -> Any:
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=max(30.0, self.settings.lease_seconds * 2),
            max_deliver=-1,
        )
        durable = durable_name(self.prefix, sub.name, event_type)
        for attempt in range(5):
            try:
                return await js.pull_subscribe(
                    self.subject(event_type), durable=durable, stream=self.stream, config=config
                )
            except Exception:  # noqa: BLE001 - two workers creating one consumer at once: bind on retry
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)
        raise AssertionError("unreachable")

    async def _consume(self, psub: Any, sub: Subscriber, semaphore: asyncio.Semaphore) -> None:
        pending: set[asyncio.Task[None]] = set()
        busy = False
        while True:
            # nats-py's fetch of a batch waits out its whole timeout for the batch to fill once it has to wait
            # for the first message. Idle: wait for one message (answered the moment it arrives). Busy: take
            # what is already there, waiting at most a few milliseconds.
            try:
                if busy:
                    messages = await psub.fetch(batch=self.fetch_batch, timeout=0.01)
                else:
                    messages = await psub.fetch(batch=1, timeout=0.5)
            except (NatsTimeoutError, TimeoutError):
                busy = False
                continue
            except Exception:  # noqa: BLE001
                log.warning("fetch from %s failed; retrying", sub.name, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            busy = True
            await semaphore.acquire()
            task = asyncio.create_task(self._handle(sub, self._newest_per_key(sub, messages), semaphore))
            pending.add(task)
            task.add_done_callback(pending.discard)

    def _newest_per_key(self, sub: Subscriber, messages: list[Any]) -> list[Any]:
        """For a coalescing subscriber, only the newest message of each coalesce key in a fetched batch needs
        handling: writing the newer event already retired the older one's delivery (or, if it was in flight,
        its worker chains to the newest). The older ones are acknowledged, without a database round trip."""
        if not sub.coalesce or len(messages) < 2:
            return messages
        newest: dict[str, tuple[int, Any]] = {}
        keep: list[Any] = []
        older: list[Any] = []
        for message in messages:
            try:
                body = json.loads(message.data)
                key, seq = body.get("coalesce_key"), int(body["seq"])
            except (ValueError, KeyError, TypeError):
                keep.append(message)  # _handle reports it
                continue
            if not key:
                keep.append(message)
            elif key not in newest or newest[key][0] < seq:
                if key in newest:
                    older.append(newest[key][1])
                newest[key] = (seq, message)
            else:
                older.append(message)
        for message in older:
            self.handled["superseded"] += 1
            task = asyncio.create_task(message.ack())
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)
        return keep + [message for _, message in sorted(newest.values(), key=lambda item: item[0])]

    async def _handle(self, sub: Subscriber, messages: list[Any], semaphore: asyncio.Semaphore) -> None:
        """Handle one fetched batch: claimed, delivered and recorded together (``Dispatcher.deliver_events``),
        then acknowledged. A batch that fails is NAKed whole; the delivery rows keep each effect single."""
        try:
            readable: list[Any] = []
            event_ids: list[str] = []
            for message in messages:
                try:
                    event_ids.append(str(json.loads(message.data)["id"]))
                    readable.append(message)
                except (ValueError, KeyError, TypeError):  # not ours: redelivering it would never help
                    log.error("unreadable message on %s dropped: %r", message.subject, message.data[:200])
                    await message.ack()
            messages = readable
            if not messages:
                return
            if sub.rate_per_second is None:
                results = await asyncio.to_thread(self.dispatcher.deliver_events, sub.name, event_ids)
            else:
                # One token, then that one delivery: tokens taken for a whole batch first and spent together
                # afterwards would send the batch at once, above the rate they were paced at.
                results = []
                for event_id in event_ids:
                    await asyncio.to_thread(self.dispatcher.acquire, sub, self._stop)
                    results += await asyncio.to_thread(self.dispatcher.deliver_events, sub.name, [event_id])
            self.handled.update(results)
            # ``busy``: an older number of the same key (or this very delivery) is in flight; the worker
            # holding it chains to the newest pending number when it finishes (Dispatcher._chain), and a
            # worker that dies loses its lease to the database loop. A NAK would only redeliver it late.
            await asyncio.gather(*(m.ack() for m in messages))
        except Exception:  # noqa: BLE001 - the broker redelivers; the delivery row keeps the effect single
            log.warning("handling messages for %s failed; they will be redelivered", sub.name, exc_info=True)
            for message in messages:
                with contextlib.suppress(Exception):
                    await message.nak(delay=1.0)
        finally:
            semaphore.release()
