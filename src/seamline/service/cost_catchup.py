"""The periodic catch-up of cost journals (issue 17): a cost posting that failed in its movement's transaction
(``CostPoster`` logs it and counts ``seamline_cost_posting_failures_total``; the movement stands) is booked
later by this job, without a person. It runs ``CostPoster.post_missing`` (what reconcile's inventory leg finds
never booked) every ``every`` seconds, in one process of the installation per period (``claim_period``).
``POST /v1/finance/post-missing-costs`` stays for a person who does not want to wait. An entry booked with a
wrong amount is never re-posted here: reconcile lists it for a person.

The same turn revalues units still held at nothing whose SKU has a standard cost (``cost_repo.
standard_costs_awaiting_revaluation``): a receipt that read no standard cost while one was being set in
another transaction came in at nothing after that transaction looked for units to revalue."""

from __future__ import annotations

import logging

from prometheus_client import Counter

from seamline.service.app import Seamline
from seamline.service.background import BackgroundLoop
from seamline.service.coordination import claim_period
from seamline.service.costing import CostPoster
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import cost_repo

log = logging.getLogger("seamline.costing")

COST_CATCHUP_POSTED = Counter(
    "seamline_cost_catchup_posted_total",
    "Cost journals booked by the periodic catch-up (their posting had failed in the movement's transaction)",
)
COST_CATCHUP_REVALUED = Counter(
    "seamline_cost_catchup_revalued_total",
    "Rows of units at nothing the catch-up revalued at their SKU's standard cost (set while they came in)",
)
COST_CATCHUP_RUNS = Counter("seamline_cost_catchup_runs_total", "Turns of the cost journal catch-up that ran")

#: Causes booked per transaction: a backlog is worked off in several short transactions, not one long one.
BATCH = 200


class CostCatchUp:
    """``post_missing`` on a timer. ``run_once`` is one turn (tests and the loop call it)."""

    def __init__(self, app: Seamline, every: float) -> None:
        self.app = app
        self.every = every
        self.poster = CostPoster(app)
        self._loop = BackgroundLoop("seamline-cost-catchup", self._turn, first_wait=every, error_wait=every, logger=log)

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        if self.every > 0:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def run_once(self, *, batch: int = BATCH) -> int:
        """Book every missing cost journal, ``batch`` causes per transaction; answers how many were booked."""
        COST_CATCHUP_RUNS.inc()
        self.revalue_at_standard_costs(batch=batch)  # their journals are booked in their own transactions
        total = 0
        while not self._loop.stopping:
            posted = self.app.write(lambda uow: self.poster.post_missing(uow, batch))
            total += posted
            if posted < batch:
                break
        if total:
            COST_CATCHUP_POSTED.inc(total)
            log.warning("cost catch-up booked %d cost journal(s) whose posting had failed", total)
        return total

    def revalue_at_standard_costs(self, *, batch: int = BATCH) -> int:
        """Revalue units at nothing whose SKU has a standard cost; answers the rows revalued."""
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> tuple[int, int]:
            costs = cost_repo.standard_costs_awaiting_revaluation(uow.conn, batch)
            return len(costs), cost_repo.revalue_at_standard_costs(uow, costs, occurred_at=now, now=now)

        total = 0
        while not self._loop.stopping:
            found, revalued = self.app.write(work)
            total += revalued
            if found < batch or revalued == 0:
                break
        if total:
            COST_CATCHUP_REVALUED.inc(total)
            log.warning("cost catch-up revalued %d row(s) of units at nothing at their standard cost", total)
        return total

    def _turn(self) -> float:
        # Another process of the installation may have claimed this period: it books, we wait for the next.
        if claim_period(self.app.engine, "cost-catchup", now=self.app.clock.now(), every=self.every):
            self.run_once()
        return self.every


__all__ = ["COST_CATCHUP_POSTED", "COST_CATCHUP_REVALUED", "CostCatchUp"]
