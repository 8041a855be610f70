"""Deciding a batch of holds in memory: the same answers as one request at a time, in arrival order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seamline.ledger.batch import Demand, Granted, Short, decide, decide_all, rows_needed


def test_unservable_request_leaves_the_running_balance_for_its_neighbours() -> None:
    available = {("TEE-M", "WH"): 3}
    decisions, net = decide_all(
        available,
        [
            Demand((("TEE-M", "WH", 2),)),
            Demand((("TEE-M", "WH", 5),)),  # cannot be served: must not eat the last unit
            Demand((("TEE-M", "WH", 1),)),
        ],
    )
    assert [type(d) for d in decisions] == [Granted, Short, Granted]
    assert net == {("TEE-M", "WH"): 3}
    short = decisions[1]
    assert isinstance(short, Short)
    assert (short.lines[0].requested, short.lines[0].available) == (5, 1)


def test_multi_line_request_is_all_or_nothing_within_a_batch() -> None:
    available = {("A", "WH"): 1, ("B", "WH"): 0}
    decisions, net = decide_all(available, [Demand((("A", "WH", 1), ("B", "WH", 1))), Demand((("A", "WH", 1),))])
    assert isinstance(decisions[0], Short)
    assert [(s.sku, s.available) for s in decisions[0].lines] == [("B", 0)]
    assert isinstance(decisions[1], Granted), "A's unit was not taken by the failed request"
    assert net == {("A", "WH"): 1}


def test_unlocated_line_takes_the_first_source_with_all_of_it() -> None:
    available = {("A", "WH"): 1, ("A", "STORE"): 5}
    decision = decide(available, Demand((("A", None, 2),), sources=("WH", "STORE")))
    assert decision == Granted((("A", "STORE", 2),))
    assert available == {("A", "WH"): 1, ("A", "STORE"): 3}


def test_split_across_sources_only_when_the_channel_allows_it() -> None:
    available = {("A", "WH"): 1, ("A", "STORE"): 1}
    no_split = decide(dict(available), Demand((("A", None, 2),), sources=("WH", "STORE")))
    assert isinstance(no_split, Short)
    assert no_split.lines[0].available == 2
    split = decide(dict(available), Demand((("A", None, 2),), sources=("WH", "STORE"), allow_split=True))
    assert split == Granted((("A", "STORE", 1), ("A", "WH", 1)))


def test_rows_needed_covers_explicit_locations_and_every_source() -> None:
    rows = rows_needed([Demand((("A", "WH", 1), ("B", None, 1)), sources=("S1", "S2"))])
    assert rows == {("A", "WH"), ("B", "S1"), ("B", "S2")}


@given(
    stock=st.integers(min_value=0, max_value=30),
    asks=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=40),
)
def test_a_batch_grants_exactly_what_one_at_a_time_would_and_never_more_than_stock(stock: int, asks: list[int]) -> None:
    decisions, net = decide_all({("A", "WH"): stock}, [Demand((("A", "WH", q),)) for q in asks])
    left = stock
    for ask, decision in zip(asks, decisions, strict=True):
        if ask <= left:
            assert isinstance(decision, Granted)
            left -= ask
        else:
            assert isinstance(decision, Short)
    assert net.get(("A", "WH"), 0) == stock - left <= stock
