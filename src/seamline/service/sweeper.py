"""Expired holds are evaluated at read time everywhere; this thread also writes the expiry down, so reserved
counts and reconcile stay exact. It is one of two mechanisms, never the only one (DESIGN 4.3)."""

from __future__ import annotations

import logging
import threading

from seamline.service.app import Seamline
from seamline.service.coordination import claim_period

log = logging.getLogger("seamline.sweeper")


class HoldSweeper:
    def __init__(self, app: Seamline, interval: float) -> None:
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="seamline-hold-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                # One process of the installation sweeps each interval (the others' would only wait on its locks).
                if not claim_period(self._app.engine, "hold-sweeper", now=self._app.clock.now(), every=self._interval):
                    continue
                while self._app.sweep_expired() >= 500:  # a backlog: keep going until it is cleared
                    if self._stop.is_set():
                        return
            except Exception:
                log.exception("hold sweep failed; will retry")
