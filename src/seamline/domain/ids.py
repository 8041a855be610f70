"""Identifiers for things Seamline creates many of per second (holds, trace ids).

``uuid.uuid4`` reads ``os.urandom``: a system call that releases the GIL, after which the calling thread
queues for up to the interpreter's switch interval (5 ms) behind whichever thread took it. On the hold path,
the event loop and the batch writer both paid that on every request. A per-process generator seeded once
from ``os.urandom`` costs no system call. These ids name records; they are not secrets (access to a hold is
checked against the caller's token and channel scope, never granted by knowing its id).
"""

from __future__ import annotations

import os
import random
import threading

_lock = threading.Lock()
_rng: random.Random | None = None


def _reseed_after_fork() -> None:
    """A forked worker must not repeat its parent's sequence (asking ``os.getpid`` on every id instead was a
    system call per id: 3% of a hold batch's time)."""
    global _rng
    _rng = None


os.register_at_fork(after_in_child=_reseed_after_fork)


def _generator() -> random.Random:
    global _rng
    rng = _rng
    if rng is None:
        with _lock:
            if _rng is None:
                _rng = random.Random(os.urandom(32))
            rng = _rng
    return rng


def random_hex(bits: int = 128) -> str:
    """``bits`` random bits as lowercase hex (128 bits: 32 characters, the W3C trace-id length)."""
    return f"{_generator().getrandbits(bits):0{bits // 4}x}"
