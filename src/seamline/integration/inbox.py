"""The inbox (DESIGN 8): every inbound message (webhook, file, API batch) is stored raw, with its headers,
before it is acknowledged; processed later, once, in order per aggregate.

- ``receive`` commits the raw message and answers; the caller acknowledges the sender only after that. A
  repeat of (source, external id) is counted and answered as a duplicate; it is never processed again.
- A registry maps (source, message type) to a handler: ``parse`` validates the raw message into a canonical
  command (raising ``InvalidMessage`` rejects it, reason kept), ``apply`` executes it inside the same
  transaction that marks the message processed, so its effect happens exactly once. ``apply`` may raise
  ``InvalidMessage`` too (a line naming nothing of ours): what it wrote is rolled back, the message rejected.
- A failure in ``apply`` rolls back, is retried with backoff, and after ``inbox_max_attempts`` the message
  is ``failed`` and visible (``GET /v1/integration/inbox?status=failed``).
- Where the source gives an aggregate key (an order id), messages of that aggregate are applied in arrival
  order; a message whose version is older than the one applied is recognised and skipped (``stale``).
- A message is never rejected for something that configuration or time can fix: one with no handler for its
  type yet (a channel whose webhooks are verified before its connector is complete), or whose handler raises
  ``HoldMessage`` (a refund before its order, an unknown SKU), is ``held`` with its reason, without spending
  attempts. It goes back in line when what it waits for happens (``waiting_for``: the aggregate's next
  applied message, the channel wired), when an operator retries it, and at least every
  ``inbox_hold_recheck_seconds``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from seamline.domain.clock import Clock
from seamline.domain.errors import SeamlineError
from seamline.integration import metrics, tracing
from seamline.integration.retry import Backoff
from seamline.integration.settings import IntegrationSettings
from seamline.service import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import inbox_repo
from seamline.store.db import run_transaction

log = logging.getLogger("seamline.inbox")


@dataclass(frozen=True)
class InboundMessage:
    source: str
    external_id: str
    message_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The entity the message is about (an order id); messages of one aggregate are applied in order.
    aggregate_key: str | None = None
    #: The source's version of that entity (updated_at in microseconds, a sequence number): older is stale.
    aggregate_version: int | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class StoredMessage:
    id: int
    source: str
    external_id: str
    message_type: str
    body: bytes
    headers: Mapping[str, str]
    aggregate_key: str | None
    aggregate_version: int | None
    attempts: int
    trace_id: str | None

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON rejects the message."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidMessage(f"the body is not JSON: {exc}") from None


@dataclass(frozen=True)
class Receipt:
    id: int
    duplicate: bool
    status: str


class InvalidMessage(Exception):
    """The message can never be processed as it is (bad schema, unknown SKU): rejected, reason kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HoldMessage(Exception):
    """The message cannot apply *yet*: held (not failed, not rejected) with ``reason``. ``waiting_for``: the
    aggregate key (``order:123``) whose next applied message releases it; None: rechecked periodically."""

    def __init__(self, reason: str, *, waiting_for: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.waiting_for = waiting_for


#: ``waiting_for`` of a message held because no handler takes its type yet (released when one is wired).
WAITING_FOR_HANDLER = "handler"


class MessageHandler(Protocol):
    def parse(self, message: StoredMessage) -> Any:
        """Validate the raw message into a canonical command, or raise InvalidMessage."""
        ...

    def apply(self, uow: UnitOfWork, command: Any) -> None:
        """Execute the command inside the inbox's unit of work (through the service, never raw SQL)."""
        ...


@dataclass(frozen=True)
class FunctionHandler:
    """A handler from two functions, for handlers too small to deserve a class."""

    parse_fn: Callable[[StoredMessage], Any]
    apply_fn: Callable[[UnitOfWork, Any], None]

    def parse(self, message: StoredMessage) -> Any:
        return self.parse_fn(message)

    def apply(self, uow: UnitOfWork, command: Any) -> None:
        self.apply_fn(uow, command)


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], MessageHandler] = {}

    def register(self, source: str, message_type: str, handler: MessageHandler) -> None:
        key = (source, message_type)
        if key in self._handlers:
            raise ValueError(f"a handler for {source}/{message_type} is already registered")
        self._handlers[key] = handler

    def get(self, source: str, message_type: str) -> MessageHandler | None:
        return self._handlers.get((source, message_type))

    def unregister(self, source: str, message_type: str) -> None:
        self._handlers.pop((source, message_type), None)

    def keys(self) -> list[tuple[str, str]]:
        return sorted(self._handlers)


def stored_text(value: str) -> str:
    """A platform's text as the inbox stores it: a NUL (which PostgreSQL's text cannot hold, and a signed
    delivery may carry in its ids) becomes the six characters ``\\u0000``. The raw body is kept byte for
    byte, so nothing the platform sent is lost; the handler refuses the ids it cannot match."""
    return value.replace("\x00", "\\u0000")


def _stored(row: Mapping[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=int(row["id"]),
        source=row["source"],
        external_id=row["external_id"],
        message_type=row["message_type"],
        body=bytes(row["body"]),
        headers=dict(row["headers"] or {}),
        aggregate_key=row["aggregate_key"],
        aggregate_version=None if row["aggregate_version"] is None else int(row["aggregate_version"]),
        attempts=int(row["attempts"]),
        trace_id=row["trace_id"],
    )


class Inbox:
    def __init__(
        self,
        app: Seamline,
        handlers: HandlerRegistry,
        settings: IntegrationSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.handlers = handlers
        self.settings = settings
        self.clock = clock or app.clock
        self.rng = rng or random.Random()
        self.backoff = Backoff(settings.backoff_base_seconds, settings.backoff_cap_seconds)
        self._loop = BackgroundLoop("seamline-inbox", self._turn, logger=log)

    def receive(self, message: InboundMessage) -> Receipt:
        """Store the raw message durably and answer; acknowledge the sender only after this returns."""
        trace = message.trace_id or tracing.current() or tracing.new_trace_id()
        row = {
            "source": message.source,
            "external_id": stored_text(message.external_id),
            "message_type": stored_text(message.message_type),
            "aggregate_key": None if message.aggregate_key is None else stored_text(message.aggregate_key),
            "aggregate_version": message.aggregate_version,
            "headers": {stored_text(k): stored_text(v) for k, v in message.headers.items()},
            "body": message.body,
            "received_at": self.clock.now(),
            "trace_id": trace,
        }
        message_id, duplicate, status = run_transaction(self.app.engine, lambda c: inbox_repo.store_message(c, row))
        metrics.INBOX_MESSAGES.labels(message.source, "duplicate" if duplicate else "received").inc()
        if not duplicate:
            self._loop.wake()
        return Receipt(message_id, duplicate, status)

    def process_due(self, limit: int = 100) -> int:
        """Process messages that are due, in order per aggregate; answers how many were handled."""
        now = self.clock.now()
        recheck = run_transaction(self.app.engine, inbox_repo.next_held_due, write=False)
        if recheck is not None and recheck <= now:
            run_transaction(self.app.engine, lambda c: inbox_repo.release_due(c, now))
        ids = run_transaction(self.app.engine, lambda c: inbox_repo.due_ids(c, now, limit), write=False)
        return sum(1 for message_id in ids if self.process(message_id) is not None)

    def drain(self, rounds: int = 1000) -> int:
        total = 0
        for _ in range(rounds):
            done = self.process_due()
            total += done
            if done == 0:
                break
        return total

    def process(self, message_id: int) -> str | None:
        """Process one message now. Answers its new status, or None if it was not waiting (or is held)."""
        outcome: dict[str, Any] = {}
        released = threading.Event()

        def work(uow: UnitOfWork) -> str | None:
            conn = uow.conn
            row = inbox_repo.lock_message(conn, message_id)
            if row is None:
                return None
            message = _stored(row)
            outcome["message"] = message
            tracing.bind(message.trace_id)
            now = self.clock.now()
            handler = self.handlers.get(message.source, message.message_type)
            if handler is None:
                reason = f"no handler for {message.source}/{message.message_type} yet: held until one is configured"
                self._hold(conn, message, HoldMessage(reason, waiting_for=WAITING_FOR_HANDLER))
                return "held"
            if message.aggregate_key is not None and message.aggregate_version is not None:
                applied = inbox_repo.applied_version(conn, message.source, message.aggregate_key)
                if applied is not None and message.aggregate_version < applied:
                    reason = f"stale: version {message.aggregate_version} is older than applied {applied}"
                    inbox_repo.finish(conn, message.id, "stale", now, reason)
                    return "stale"
            try:
                command = handler.parse(message)
            except InvalidMessage as exc:
                inbox_repo.finish(conn, message.id, "rejected", now, stored_text(exc.reason))
                return "rejected"
            except HoldMessage as exc:
                self._hold(conn, message, exc)
                return "held"
            try:
                # A handler that finds, while applying, that the message can never apply (a line naming no
                # SKU of ours) raises InvalidMessage: whatever it wrote is rolled back, with the events it raised,
                # and the message rejected. One that cannot apply *yet* raises HoldMessage: rolled back too, and
                # the message held.
                with uow.savepoint() as applying:
                    handler.apply(applying, command)
            except InvalidMessage as exc:
                inbox_repo.finish(conn, message.id, "rejected", now, stored_text(exc.reason))
                return "rejected"
            except HoldMessage as exc:
                self._hold(conn, message, exc)
                return "held"
            if message.aggregate_key is not None and message.aggregate_version is not None:
                inbox_repo.set_applied_version(
                    conn, message.source, message.aggregate_key, message.aggregate_version, message.id, now
                )
            inbox_repo.finish(conn, message.id, "processed", now)
            # What waited for this aggregate (a refund that came before its order) goes back in line.
            if message.aggregate_key is not None and inbox_repo.release(
                conn, message.source, now, waiting_for=message.aggregate_key
            ):
                released.set()
            return "processed"

        try:
            with tracing.traced(None):
                status = self.app.write(work)
        except Exception as exc:  # noqa: BLE001 - any failure of a handler is retried, then kept as failed
            message = outcome.get("message")
            if message is None:
                raise
            return self._failed(message, exc)
        if status is not None:
            message = outcome["message"]
            metrics.INBOX_MESSAGES.labels(message.source, status).inc()
        if released.is_set():
            self._loop.wake()
        return status

    def _hold(self, conn: Connection, message: StoredMessage, held: HoldMessage) -> None:
        now = self.clock.now()
        recheck = now + timedelta(seconds=self.settings.inbox_hold_recheck_seconds)
        reason = stored_text(held.reason)
        waiting_for = None if held.waiting_for is None else stored_text(held.waiting_for)
        inbox_repo.hold(conn, message.id, now=now, reason=reason, waiting_for=waiting_for, recheck_at=recheck)

    def release(
        self,
        source: str,
        *,
        waiting_for: str | None = None,
        message_types: Sequence[str] | None = None,
        everything: bool = False,
    ) -> int:
        """Put held messages of ``source`` back in line now (see ``inbox_repo.release``); answers how many."""
        now = self.clock.now()
        count = run_transaction(
            self.app.engine,
            lambda c: inbox_repo.release(
                c, source, now, waiting_for=waiting_for, message_types=message_types, everything=everything
            ),
        )
        if count:
            self._loop.wake()
        return count

    def _failed(self, message: StoredMessage, exc: Exception) -> str:
        reason = stored_text(exc.detail if isinstance(exc, SeamlineError) else f"{type(exc).__name__}: {exc}")
        attempt = message.attempts + 1
        now = self.clock.now()
        next_at: datetime | None = None
        if attempt < self.settings.inbox_max_attempts:
            next_at = now + timedelta(seconds=self.backoff.delay(attempt, self.rng))
        status = run_transaction(
            self.app.engine,
            lambda c: inbox_repo.record_failure(c, message.id, now=now, error=reason, next_attempt_at=next_at),
        )
        metrics.INBOX_MESSAGES.labels(message.source, "failed" if status == "failed" else "retried").inc()
        log.warning(
            "inbox message %s (%s/%s %s) attempt %d failed: %s",
            message.id,
            message.source,
            message.message_type,
            message.external_id,
            attempt,
            reason,
            extra={"trace_id": message.trace_id},
        )
        return "failed" if status == "failed" else "retrying"

    def retry(self, message_id: int) -> bool:
        """An operator's retry of a failed or held message."""
        now = self.clock.now()
        done = run_transaction(self.app.engine, lambda c: inbox_repo.retry_failed(c, message_id, now))
        if done:
            self._loop.wake()
        return done

    def list(self, *, status: str | None = None, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return run_transaction(
            self.app.engine,
            lambda c: inbox_repo.list_messages(c, status=status, source=source, limit=limit),
            write=False,
        )

    # ------------------------------------------------------------------ the background loop
    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _turn(self) -> float:
        try:
            while self.process_due() and not self._loop.stopping:
                pass
            due = run_transaction(self.app.engine, inbox_repo.next_due, write=False)
        except Exception:  # noqa: BLE001 - keep the processor alive; the database may come back
            log.exception("inbox processing failed; will retry")
            due = None
        timeout = self.settings.poll_seconds
        if due is not None:
            timeout = min(timeout, max(0.02, (due - self.clock.now()).total_seconds()))
        return timeout
