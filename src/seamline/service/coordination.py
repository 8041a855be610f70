"""What the processes of one installation agree on through the database (issue 16): which process runs a
periodic job's work this period. (Shared rate limits: ``seamline.integration.shared_limits``.)"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Engine

from seamline.store import coordination_repo
from seamline.store.db import run_transaction


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_period(engine: Engine, name: str, *, now: datetime, every: float) -> bool:
    """True when this process runs job ``name`` now, for a period of ``every`` seconds.

    A process asks when its own timer says the job is due; the timer and ``now`` are read a moment apart,
    so the claim accepts a period that ends within a tenth of a period (at most a second) from now: without
    that, the owner would find its own period not quite over and skip every other turn.
    """
    slack = timedelta(seconds=min(1.0, every / 10))
    return run_transaction(
        engine,
        lambda conn: coordination_repo.claim_period(
            conn, name, now=now, every=timedelta(seconds=every), owner=process_owner(), slack=slack
        ),
    )
