"""In-process sandboxes behind ``sandbox:`` settings URLs (``sandbox:amazon``, ``sandbox:amazon/eu-test``):
a channel configured with one talks, through an ``httpx`` transport, to a sandbox instance kept here by
name, so the demo and the tests drive a whole wired connector without a network. A test registers its own
instance (to seed listings and read what was pushed) before it configures the channel; an unknown name
gets a fresh one on first use. Production refuses these URLs (``seamline.channels.wiring``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from seamline.channels.wiring import SANDBOX_SCHEME

T = TypeVar("T")

_lock = threading.Lock()
_instances: dict[tuple[str, str], Any] = {}


def name_of(url: str, kind: str) -> str:
    """``sandbox:amazon/eu-test`` → ``eu-test``; ``sandbox:amazon`` → ``default``."""
    rest = url.removeprefix(SANDBOX_SCHEME).strip("/")
    head, _, name = rest.partition("/")
    if head != kind:
        raise ValueError(f"{url} is not a {kind} sandbox (sandbox:{kind} or sandbox:{kind}/<name>)")
    return name or "default"


def register(kind: str, name: str, sandbox: object) -> None:
    """Put ``sandbox`` behind ``sandbox:<kind>/<name>`` (replacing any earlier one of that name)."""
    with _lock:
        _instances[(kind, name)] = sandbox


def forget(kind: str, name: str) -> None:
    with _lock:
        _instances.pop((kind, name), None)


def find(kind: str, name: str) -> Any | None:
    """The sandbox behind ``sandbox:<kind>/<name>`` in this process, or None (never makes one)."""
    with _lock:
        return _instances.get((kind, name))


def instance(kind: str, name: str, expected: type[T], make: Callable[[], T]) -> T:
    with _lock:
        found = _instances.get((kind, name))
        if found is None:
            found = _instances[(kind, name)] = make()
    if not isinstance(found, expected):
        raise ValueError(f"sandbox:{kind}/{name} is a {type(found).__name__}, not a {expected.__name__}")
    return found
