"""Expired holds are evaluated at read time everywhere; this thread also writes the expiry down, so reserved
counts and reconcile stay exact. It is one of two mechanisms, never the only one (DESIGN 4.3)."""

from __future__ import annotations

import logging

from seamline.service.app import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.coordination import claim_period

log = logging.getLogger("seamline.sweeper")


class HoldSweeper:
    def __init__(self, app: Seamline, interval: float) -> None:
        self._app = app
        self._interval = interval
        self._loop = BackgroundLoop(
            "seamline-hold-sweeper", self._sweep, first_wait=interval, error_wait=interval, logger=log
        )

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _sweep(self) -> float:
        # One process of the installation sweeps each interval (the others' would only wait on its locks).
        if claim_period(self._app.engine, "hold-sweeper", now=self._app.clock.now(), every=self._interval):
            while self._app.sweep_expired() >= 500 and not self._loop.stopping:  # a backlog: clear it
                pass
        return self._interval
