"""Prometheus metrics of the integration layer (DESIGN 8), in business terms. Defined once per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INBOX_MESSAGES = Counter(
    "seamline_inbox_messages_total",
    "Inbound messages by source and result (received, duplicate, processed, rejected, stale, failed, retried)",
    ["source", "result"],
)
DELIVERIES = Counter(
    "seamline_deliveries_total",
    "Delivery attempts by subscriber and result (succeeded, failed, dead, superseded, rate_limited)",
    ["subscriber", "result"],
)
DELIVERY_LAG = Histogram(
    "seamline_delivery_lag_seconds",
    "Time from the event's commit to its delivery to the subscriber",
    ["subscriber"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
EVENTS = Counter("seamline_outbox_events_total", "Events written to the outbox", ["type"])
DEAD_LETTERS = Gauge("seamline_dead_letters", "Deliveries in the dead-letter queue", ["subscriber"])
DEAD_LETTER_OLDEST_AGE = Gauge(
    "seamline_dead_letter_oldest_age_seconds", "Age of the oldest dead letter", ["subscriber"]
)
HEARTBEAT = Gauge(
    "seamline_connector_heartbeat_timestamp_seconds",
    "Last time a dispatcher worked for the connector (Unix time); a stale value means nobody is delivering",
    ["subscriber"],
)
RELAYED = Counter("seamline_outbox_relayed_total", "Events published to the broker", ["result"])
PURGED = Counter("seamline_retention_purged_total", "Rows removed by retention", ["kind"])
AVAILABILITY_BATCH = Histogram(
    "seamline_availability_journal_batch",
    "Balance changes one availability publishing transaction computed at once",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
)
