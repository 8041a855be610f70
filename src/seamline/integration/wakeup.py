"""Waking dispatchers the moment events are committed.

In this process: a transaction that wrote events flags its connection (``outbox.WROTE_EVENTS``); when the
connection goes back to the pool, after the commit, the flag fires the callbacks. That covers every write
path (the service's ``write``, group commit, the inbox) without each one remembering to signal.
In another process: PostgreSQL NOTIFY, sent by the writing transaction and delivered at its commit.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from seamline.integration.outbox import WROTE_EVENTS
from seamline.service.background import BackgroundLoop
from seamline.store import outbox_repo

log = logging.getLogger("seamline.integration")

Callback = Callable[[], None]


class CommitSignal:
    """Callbacks fired after the commit of a transaction that set ``flag`` in its connection's info."""

    _by_engine: weakref.WeakKeyDictionary[Engine, dict[str, CommitSignal]] = weakref.WeakKeyDictionary()
    _guard = threading.Lock()

    def __init__(self, engine: Engine, flag: str = WROTE_EVENTS) -> None:
        self._callbacks: list[Callback] = []
        self._lock = threading.Lock()
        self.flag = flag
        event.listen(engine, "checkin", self._on_checkin)

    @classmethod
    def for_engine(cls, engine: Engine, flag: str = WROTE_EVENTS) -> CommitSignal:
        with cls._guard:
            signals = cls._by_engine.setdefault(engine, {})
            signal = signals.get(flag)
            if signal is None:
                signal = signals[flag] = cls(engine, flag)
            return signal

    def add(self, callback: Callback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def discard(self, callback: Callback) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is None or not record.info.pop(self.flag, None):
            return
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
