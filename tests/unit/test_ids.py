"""Record ids: unique, the W3C length, and never repeated by a forked worker (uvicorn and the demo fork)."""

from __future__ import annotations

import os
import re

import pytest

from seamline.domain.ids import random_hex


def test_ids_are_lowercase_hex_of_the_asked_length_and_do_not_repeat() -> None:
    ids = [random_hex() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert re.fullmatch(r"[0-9a-f]{16}", random_hex(64))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_sequence() -> None:
    random_hex()  # the parent's generator exists before the fork, as in a server that forks its workers
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave without running the parent's cleanup
        try:
            os.write(write, " ".join(random_hex() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [random_hex() for _ in range(3)]
    assert len(child) == 3
    assert set(child).isdisjoint(parent)
