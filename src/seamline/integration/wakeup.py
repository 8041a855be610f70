"""Waking dispatchers the moment events are committed.

In this process: a unit of work that wrote outbox events (or availability journal rows) asks to be told
after its commit (``UnitOfWork.after_commit``); the ``CommitSignal`` it is given fires the callbacks (the
dispatcher's, the NATS relay's, the availability publisher's ``wake``). Every write path runs in a unit of
work (the service's ``write``, the group commit, the inbox, the publisher), so none has to remember to signal.
In another process: PostgreSQL NOTIFY, sent by the writing transaction and delivered at its commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from seamline.service.background import BackgroundLoop
from seamline.store import outbox_repo

log = logging.getLogger("seamline.integration")

Callback = Callable[[], None]


class CommitSignal:
    """Callbacks fired after the commit of a transaction that wrote what they wait for."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._lock = threading.Lock()

    def add(self, callback: Callback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def discard(self, callback: Callback) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def fire(self) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()


class NotifyListener:
    """LISTEN on PostgreSQL for events committed by other processes; reconnects when the server goes away."""

    def __init__(self, engine: Engine, callback: Callback) -> None:
        self.engine = engine
        self.callback = callback
        self._loop = BackgroundLoop("seamline-listen", self._listen, join_timeout=5, logger=log)

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _listen(self) -> float:
        """Listen until stopped or the connection drops; then reconnect after a second."""
        try:
            outbox_repo.listen_for_events(self.engine, self.callback, self._loop.stop_event)
        except Exception:  # noqa: BLE001 - the fallback poll covers the gap; reconnect shortly
            log.warning("LISTEN connection lost; reconnecting", exc_info=True)
            self._loop.pause(1.0)
        return 0.0
