"""The expansion and settling rules of an ``AvailabilityBatch`` (``integration.availability_batches``)."""

from __future__ import annotations

from datetime import UTC, datetime

from seamline.integration.availability_batches import coalesce_key, expand, member_id, settle
from seamline.integration.events import AVAILABILITY_BATCH, AVAILABILITY_CHANGED, Delivery
from seamline.integration.subscribers import DeliveryPolicy, Subscription

BATCH = Delivery(
    id=7,
    subscriber="shop",
    event_id="evt_batch",
    event_type=AVAILABILITY_BATCH,
    event_seq=100,
    payload={"channel": "web", "skus": 3, "pause_below": 2},
    trace_id="t" * 32,
    created_at=datetime(2027, 3, 1, tzinfo=UTC),
    attempt=1,
)
NUMBERS = [
    {"sku": "A", "atp": 5, "paused": False},
    {"sku": "B", "atp": 1, "paused": True},
    {"sku": "C", "atp": 9, "paused": False},
]


def shown_row(available: int, seq: int) -> dict[str, object]:
    return {"available": available, "atp": available, "paused": False, "event_seq": seq}


def test_each_sku_of_a_batch_is_an_availability_changed_of_its_own_with_the_single_events_payload() -> None:
    members = expand(BATCH, NUMBERS, {})
    assert [m.event_type for m in members] == [AVAILABILITY_CHANGED] * 3
    assert [m.event_id for m in members] == [member_id("evt_batch", s) for s in "ABC"]
    assert members[1].payload == {
        "channel": "web",
        "sku": "B",
        "atp": 1,
        "available": 0,
        "paused": True,
        "pause_below": 2,
    }
    assert {m.event_seq for m in members} == {100}
    assert {m.trace_id for m in members} == {"t" * 32}
    assert members[0].extra["batch_event_id"] == "evt_batch"


def test_a_sku_already_shown_at_the_batch_or_newer_is_not_pushed_and_an_older_one_is_the_compare_and_set_base() -> None:
    shown = {"A": shown_row(4, 100), "B": shown_row(3, 250), "C": shown_row(8, 40)}
    [only] = expand(BATCH, NUMBERS, shown)
    assert only.payload["sku"] == "C"
    assert only.previous == {"available": 8, "atp": 8, "paused": False, "event_seq": 40}


def test_a_sku_with_a_newer_delivery_waiting_is_left_to_it() -> None:
    members = expand(BATCH, NUMBERS, {}, waiting={coalesce_key("web", "B")})
    assert [m.payload["sku"] for m in members] == ["A", "C"]


def test_settling_keeps_each_skus_outcome_and_a_throttle_is_why_the_batch_waits() -> None:
    a, b, c, d, e = expand(
        BATCH, [*NUMBERS, {"sku": "D", "atp": 1, "paused": False}, {"sku": "E", "atp": 0, "paused": False}], {}
    )
    settled = settle(
        [
            (a, "succeeded", None, None),
            (b, "rejected", "not listed", None),
            (c, "failed", "HTTP 503", 2.0),
            (d, "rate_limited", "HTTP 429", 5.0),
            (e, "stale", None, None),
        ]
    )
    assert settled.shown == [a]
    assert settled.refused == [(b, "not listed")]
    assert settled.retry == ("rate_limited", "HTTP 429", 5.0)
    assert settled.waiting == 2


def test_a_batch_of_only_successes_has_nothing_to_retry() -> None:
    members = expand(BATCH, NUMBERS, {})
    settled = settle([(m, "succeeded", None, None) for m in members])
    assert settled.retry is None
    assert settled.shown == members


def test_a_subscriber_of_availability_changed_takes_the_batches_of_its_channels_only() -> None:
    numbers = Subscription("shop", frozenset({AVAILABILITY_CHANGED}), frozenset({"web"}))
    assert numbers.takes(AVAILABILITY_BATCH, "web")
    assert not numbers.takes(AVAILABILITY_BATCH, "pos")
    assert not Subscription("shipments", frozenset({"OrderShipped"})).takes(AVAILABILITY_BATCH, "web")
    assert DeliveryPolicy().stale(BATCH) is False
