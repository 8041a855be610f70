"""The unit of work without a database: events raised and taken in order, savepoints that keep or drop what
was raised in them, after-commit callbacks, and the per-transaction location kinds."""

from __future__ import annotations

import pytest

from seamline.catalog.events import StyleSaved
from seamline.ledger.events import BalancesChanged
from seamline.ledger.model import LocationKind
from seamline.orders.events import SaleRecorded
from tests.unit.fake_connection import FakeConnection, fake_uow


def test_events_are_taken_in_the_order_raised_and_only_once() -> None:
    uow, _ = fake_uow()
    uow.raise_event(SaleRecorded("ord_1"))
    uow.raise_event(BalancesChanged((("SKU", "STORE-1"),)))
    assert uow.collect_events() == [SaleRecorded("ord_1"), BalancesChanged((("SKU", "STORE-1"),))]
    assert uow.collect_events() == []


def test_a_savepoint_that_succeeds_hands_its_events_and_callbacks_to_the_parent() -> None:
    uow, conn = fake_uow()
    called: list[str] = []
    uow.raise_event(StyleSaved("A"))
    with uow.savepoint() as nested:
        nested.raise_event(StyleSaved("B"))
        nested.after_commit(lambda: called.append("B"))
        assert uow.events == [StyleSaved("A")], "not the parent's until the savepoint is released"
    assert conn.savepoints == ["committed"]
    assert uow.collect_events() == [StyleSaved("A"), StyleSaved("B")]
    uow.committed()
    assert called == ["B"]


def test_a_savepoint_that_fails_is_rolled_back_with_its_events_and_callbacks_and_the_error_goes_on() -> None:
    uow, conn = fake_uow()
    called: list[str] = []
    uow.raise_event(SaleRecorded("kept"))

    def refused() -> None:
        with uow.savepoint() as nested:
            nested.raise_event(SaleRecorded("dropped"))
            nested.after_commit(lambda: called.append("dropped"))
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        refused()
    assert conn.savepoints == ["rolled back"]
    assert uow.collect_events() == [SaleRecorded("kept")]
    uow.committed()
    assert called == []


def test_after_commit_callbacks_run_once_each_and_one_failing_does_not_stop_the_others() -> None:
    uow, _ = fake_uow()
    called: list[str] = []

    def wake() -> None:
        called.append("wake")

    def broken() -> None:
        raise RuntimeError("a wake-up failed")

    uow.after_commit(wake)
    uow.after_commit(wake)  # asked twice (two outbox writes): woken once
    uow.after_commit(broken)
    uow.after_commit(lambda: called.append("last"))
    assert called == [], "nothing before the commit"
    uow.committed()
    assert called == ["wake", "last"]
    uow.committed()
    assert called == ["wake", "last"], "callbacks are spent"


def test_location_kinds_are_read_once_per_transaction_savepoints_included_and_again_after_a_save() -> None:
    uow, conn = fake_uow(FakeConnection({"WH": "warehouse", "STORE-1": "store"}))
    assert uow.location_kinds() == {"WH": LocationKind.WAREHOUSE, "STORE-1": LocationKind.STORE}
    with uow.savepoint() as nested:
        assert nested.location_kinds()["STORE-1"] is LocationKind.STORE
    assert conn.reads == 1
    copy = uow.location_kinds()
    copy["NEW"] = LocationKind.STORE  # a caller changing its copy changes nothing for the next one
    assert "NEW" not in uow.location_kinds()
    conn.locations["STORE-2"] = "store"
    uow.forget_location_kinds()
    assert "STORE-2" in uow.location_kinds()
    assert conn.reads == 2


def test_a_failed_savepoint_forgets_the_location_kinds_it_may_have_changed() -> None:
    uow, conn = fake_uow(FakeConnection({"WH": "warehouse"}))
    uow.location_kinds()

    def saves_a_location_then_fails() -> None:
        with uow.savepoint() as nested:
            nested.forget_location_kinds()
            conn.locations["STORE-9"] = "store"
            nested.location_kinds()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        saves_a_location_then_fails()
    del conn.locations["STORE-9"]  # what the rollback undid
    assert "STORE-9" not in uow.location_kinds()
