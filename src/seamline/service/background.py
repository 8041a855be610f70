"""The background-thread loop, written once: the availability publisher, the dispatcher, the inbox worker, the
hold and retention sweepers, the connectors' periodic jobs, Mirakl's offer sync, the PostgreSQL listener and
the dashboard's KPI sampler each hand it one turn of their work.

Nothing starts at import or construction (DESIGN 2): ``start()`` does. A turn answers how long to wait
before the next one; ``wake()`` cuts that wait short (a commit that left work behind); ``stop()`` ends the
wait at once and joins the thread. A turn that raises is logged and the loop goes on after ``error_wait``:
a database that is briefly away must not end a worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("seamline.background")


class BackgroundLoop:
    def __init__(
        self,
        name: str,
        turn: Callable[[], float],
        *,
        first_wait: float = 0.0,
        error_wait: float = 0.5,
        join_timeout: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        """``turn`` does one round of work and answers the seconds to wait before the next (0: go again now).
        ``first_wait``: the wait before the first turn (a sweeper that runs every interval, not at start)."""
        self.name = name
        self._turn = turn
        self._first_wait = first_wait
        self._error_wait = error_wait
        self._join_timeout = join_timeout
        self._log = logger or log
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called: a long turn checks it between steps."""
        return self._stop.is_set()

    @property
    def stop_event(self) -> threading.Event:
        """Set on ``stop()``, for a turn that blocks on something of its own (a LISTEN connection)."""
        return self._stop

    def start(self) -> None:
        """Start the thread; a second call while it runs does nothing."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current turn and wait for the thread (at most ``join_timeout`` seconds)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout)
            self._thread = None

    def wake(self) -> None:
        """Run the next turn now instead of at the end of the current wait."""
        self._wake.set()

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` that ``wake()`` does not cut short (only ``stop()`` does): a turn that spaces its
        work on purpose. Answers True when stopped meanwhile."""
        return self._stop.wait(seconds)

    def _run(self) -> None:
        wait = self._first_wait
        while True:
            if wait > 0:
                self._wake.wait(wait)
            if self._stop.is_set():
                return
            self._wake.clear()
            try:
                wait = self._turn()
            except Exception:  # noqa: BLE001 - logged; the loop goes on (the database may come back)
                self._log.exception("%s: a turn failed; will retry", self.name)
                self.pause(self._error_wait)
                wait = 0.0
