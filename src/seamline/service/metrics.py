"""Prometheus metrics, in business terms (DESIGN 8). Defined once per process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HOLDS = Counter("seamline_holds_total", "Hold requests by result", ["result"])
HOLD_UNITS = Counter("seamline_held_units_total", "Units placed on hold")
HOLD_EXPIRIES = Counter("seamline_hold_expiries_total", "Holds that timed out and were swept")
MOVEMENTS = Counter("seamline_movements_total", "Stock movements recorded", ["kind"])
MOVEMENT_UNITS = Counter("seamline_movement_units_total", "Units moved", ["kind"])
IDEMPOTENT_REPLAYS = Counter("seamline_idempotent_replays_total", "Requests answered from a stored response")
HTTP_REQUESTS = Counter("seamline_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "seamline_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RECONCILE_DIFFERENCES = Counter("seamline_reconcile_differences_total", "Differences found by reconcile runs")
