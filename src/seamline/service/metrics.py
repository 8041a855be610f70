"""Prometheus metrics, in business terms (DESIGN 8). Defined once per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
BATCH_SIZE = Histogram(
    "seamline_hold_batch_size", "Hold requests per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
)
BATCH_QUEUE_WAIT = Histogram(
    "seamline_hold_batch_queue_wait_seconds",
    "Time a hold request waited in the group-commit queue",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BATCH_COMMIT_SECONDS = Histogram(
    "seamline_hold_batch_seconds",
    "Time to decide, write and commit one batch",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BATCH_QUEUE_DEPTH = Gauge("seamline_hold_batch_queue_depth", "Hold requests waiting for a batch")
BATCH_REJECTED = Counter("seamline_hold_batch_rejected_total", "Hold requests refused with 503 (queue full)")

# The order queue (DESIGN 5): the oversold-units KPI of DESIGN 4.3 and 8.
ORDERS = Counter("seamline_orders_total", "Orders and sales placed, by kind and resulting status", ["kind", "status"])
ORDER_STEPS = Counter("seamline_order_steps_total", "Order steps taken (pick, pack, ship, cancel, close)", ["step"])
OVERSOLD_UNITS = Counter(
    "seamline_oversold_units_total", "Units that left a location while promised elsewhere (oversell exceptions)"
)
RETURNED_UNITS = Counter("seamline_returned_units_total", "Units returned, by condition", ["condition"])

# Group commit of sales and orders (issue 9).
WRITE_BATCH_SIZE = Histogram(
    "seamline_write_batch_size", "Sales/order writes per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)
WRITE_BATCH_QUEUE_WAIT = Histogram(
    "seamline_write_batch_queue_wait_seconds",
    "Time a sale/order write waited in the group-commit queue",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
WRITE_BATCH_SECONDS = Histogram(
    "seamline_write_batch_seconds",
    "Time to run and commit one batch of sale/order writes",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
WRITE_BATCH_REJECTED = Counter("seamline_write_batch_rejected_total", "Sale/order writes refused with 503 (queue full)")
