"""The subscriber side of "at least once": apply each event once, and never let an older availability number
overwrite a newer one. A connector keeps this state where its effect lives (the platform's compare-and-set
does the second half for it); this in-memory form serves tests, the benchmark and simple sinks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from seamline.integration.events import AVAILABILITY_CHANGED, Delivery


@dataclass
class AvailabilityMirror:
    """What a channel would show: the newest number per (channel, sku), and which events took effect."""

    shown: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # -> (available, event_seq)
    applied: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, delivery: Delivery) -> bool:
        """True when the delivery changed what is shown; a repeat or an older number changes nothing."""
        with self._lock:
            self.received += 1
            if delivery.event_id in self.seen:
                return False
            self.seen.add(delivery.event_id)
            if delivery.event_type != AVAILABILITY_CHANGED:
                self.applied.append(delivery.event_id)
                return True
            key = (str(delivery.payload["channel"]), str(delivery.payload["sku"]))
            current = self.shown.get(key)
            if current is not None and current[1] >= delivery.event_seq:
                return False
            self.shown[key] = (int(delivery.payload["available"]), delivery.event_seq)
            self.applied.append(delivery.event_id)
            return True

    def available(self, channel: str, sku: str) -> int | None:
        with self._lock:
            value = self.shown.get((channel, sku))
            return None if value is None else value[0]
