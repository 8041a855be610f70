"""The handler table (``service.handlers``) against a unit of work without a database: what runs for which
business fact, in which order, and what does not run (a rolled-back request, a missing collaborator)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY

import seamline.catalog.events
import seamline.finance.events
import seamline.ledger.events
import seamline.orders.events
from seamline.catalog.events import StyleSaved, TillCatalogChanged
from seamline.domain.events import DomainEvent
from seamline.finance.events import DocumentPosted
from seamline.ledger.events import BalancesChanged
from seamline.orders.events import OrderCancelled, OrderShipped, ReturnBooked, SaleRecorded
from seamline.service.finance import FinancePoster
from seamline.service.handlers import EVENT_HANDLERS, Dependencies, MessageBus
from seamline.service.unit_of_work import UnitOfWork
from tests.unit.fake_connection import fake_uow

EVENT_MODULES = (seamline.catalog.events, seamline.finance.events, seamline.ledger.events, seamline.orders.events)


class Recorder:
    """Stands in for every collaborator: records each call in one shared log, in order. Finance "posts" a
    document per cause and raises ``DocumentPosted``; the till catalog "changes" and raises
    ``TillCatalogChanged``, as the real ones do."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []

    def finance(self, uow: UnitOfWork, causes: Sequence[tuple[str, str]]) -> None:
        self.log.append(("post", list(causes)))
        for kind, key in causes:
            uow.raise_event(DocumentPosted({"source": f"{kind}:{key}"}))

    def till_catalog(self, uow: UnitOfWork, styles: Sequence[str]) -> None:
        self.log.append(("republish till catalog", list(styles)))
        uow.raise_event(TillCatalogChanged("store", 7, ("A-1",), tuple(styles)))

    def styles_changed(self, _uow: UnitOfWork, styles: Sequence[str]) -> None:
        self.log.append(("announce styles", list(styles)))

    def orders_shipped(self, _uow: UnitOfWork, order_ids: Sequence[str]) -> None:
        self.log.append(("announce shipments", list(order_ids)))

    def returns_booked(self, _uow: UnitOfWork, return_ids: Sequence[str]) -> None:
        self.log.append(("announce returns", list(return_ids)))

    def orders_cancelled(self, _uow: UnitOfWork, order_ids: Sequence[str]) -> None:
        self.log.append(("announce cancellations", list(order_ids)))

    def order_lines_cancelled(self, _uow: UnitOfWork, events: Sequence[Any]) -> None:
        self.log.append(("announce line cancellations", [e.cancellation for e in events]))

    def documents_posted(self, _uow: UnitOfWork, documents: Sequence[dict[str, Any]]) -> None:
        self.log.append(("announce documents", [d["source"] for d in documents]))

    def till_catalog_changed(self, _uow: UnitOfWork, changes: Sequence[TillCatalogChanged]) -> None:
        self.log.append(("announce till catalog", [c.version for c in changes]))

    def balances_changed(self, _uow: UnitOfWork, rows: Sequence[tuple[str, str]]) -> None:
        self.log.append(("journal", list(rows)))


def bus_with(recorder: Recorder) -> MessageBus:
    return MessageBus(
        Dependencies(
            finance=recorder.finance,
            till_catalog=recorder.till_catalog,
            announcements=recorder,
            journal=recorder,
        )
    )


def test_every_domain_event_has_its_consequences_declared_in_the_table() -> None:
    defined = {
        value
        for module in EVENT_MODULES
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, DomainEvent) and value is not DomainEvent
    }
    assert defined, "the event modules define events"
    assert defined == set(EVENT_HANDLERS), "an event nobody handles, or a handled type no module defines"
    assert all(EVENT_HANDLERS[event_type] for event_type in defined)


def test_what_happens_when_a_till_sale_commits() -> None:
    recorder = Recorder()
    uow, _ = fake_uow()
    uow.raise_event(BalancesChanged((("TEE-M", "STORE-1"),)))
    uow.raise_event(SaleRecorded("ord_1"))
    bus_with(recorder).handle(uow)
    assert recorder.log == [
        ("post", [("sale", "ord_1")]),
        ("journal", [("TEE-M", "STORE-1")]),
        ("announce documents", ["sale:ord_1"]),  # raised by the posting: the next round
    ]
    assert uow.events == []


def test_a_shipment_is_announced_then_invoiced_and_a_saved_style_republishes_the_till_catalog() -> None:
    recorder = Recorder()
    uow, _ = fake_uow()
    uow.raise_event(OrderShipped("ord_9"))
    uow.raise_event(StyleSaved("B"))
    uow.raise_event(StyleSaved("A"))
    uow.raise_event(StyleSaved("B"))
    bus_with(recorder).handle(uow)
    assert recorder.log == [
        ("announce styles", ["A", "B"]),
        ("republish till catalog", ["A", "B"]),
        ("announce shipments", ["ord_9"]),
        ("post", [("shipment", "ord_9")]),
        ("announce till catalog", [7]),
        ("announce documents", ["shipment:ord_9"]),
    ]


def test_an_exchange_posts_its_credit_note_before_its_sales_receipt_and_a_batch_journals_once() -> None:
    recorder = Recorder()
    uow, _ = fake_uow()
    for n in range(3):  # three sales of one group-commit batch, and an exchange among them
        uow.raise_event(BalancesChanged(((f"SKU-{n}", "STORE-1"), ("SKU-0", "STORE-1"))))
        uow.raise_event(SaleRecorded(f"ord_{n}"))
    uow.raise_event(ReturnBooked("ret_1"))
    bus_with(recorder).handle(uow)
    assert recorder.log[:4] == [
        ("post", [("return", "ret_1")]),
        ("announce returns", ["ret_1"]),
        ("post", [("sale", "ord_0"), ("sale", "ord_1"), ("sale", "ord_2")]),
        ("journal", [("SKU-0", "STORE-1"), ("SKU-1", "STORE-1"), ("SKU-2", "STORE-1")]),
    ]


def test_a_cancelled_order_is_announced_once_per_order() -> None:
    recorder = Recorder()
    uow, _ = fake_uow()
    uow.raise_event(OrderCancelled("ord_2"))
    uow.raise_event(OrderCancelled("ord_1"))
    uow.raise_event(OrderCancelled("ord_2"))
    bus_with(recorder).handle(uow)
    assert recorder.log == [("announce cancellations", ["ord_2", "ord_1"])]


def test_events_of_a_rolled_back_savepoint_reach_no_handler() -> None:
    recorder = Recorder()
    uow, _ = fake_uow()
    with uow.savepoint() as first:
        first.raise_event(SaleRecorded("ord_ok"))

    def refused() -> None:
        with uow.savepoint() as second:
            second.raise_event(SaleRecorded("ord_refused"))
            second.raise_event(BalancesChanged((("X", "STORE-1"),)))
            raise ValueError("short")

    with pytest.raises(ValueError, match="short"):
        refused()
    bus_with(recorder).handle(uow)
    assert ("post", [("sale", "ord_ok")]) in recorder.log
    assert all("ord_refused" not in str(entry) and "X" not in str(entry[1]) for entry in recorder.log)


def test_without_collaborators_installed_the_table_does_nothing() -> None:
    uow, _ = fake_uow()
    for event in (BalancesChanged((("A", "WH"),)), SaleRecorded("o"), StyleSaved("S"), OrderShipped("o")):
        uow.raise_event(event)
    MessageBus().handle(uow)
    assert uow.events == []


def test_an_event_the_table_does_not_list_is_an_error_not_silence() -> None:
    class Unheard(DomainEvent):
        pass

    uow, _ = fake_uow()
    uow.raise_event(Unheard())
    with pytest.raises(LookupError, match="Unheard"):
        MessageBus().handle(uow)


def test_a_handler_that_keeps_raising_is_stopped() -> None:
    def again(_deps: Dependencies, uow: UnitOfWork, _events: Sequence[SaleRecorded]) -> None:
        uow.raise_event(SaleRecorded("again"))

    uow, _ = fake_uow()
    uow.raise_event(SaleRecorded("first"))
    with pytest.raises(RuntimeError, match="rounds"):
        MessageBus(handlers={SaleRecorded: [again]}).handle(uow)


class FailingPosting:
    def post_events(self, uow: UnitOfWork, causes: Sequence[tuple[str, str]]) -> None:
        uow.raise_event(DocumentPosted({"source": "half-posted"}))
        raise ArithmeticError("a posting bug")


def test_a_finance_posting_that_fails_leaves_the_sale_and_drops_what_it_posted() -> None:
    poster = object.__new__(FinancePoster)
    poster.posting = cast(Any, FailingPosting())
    uow, conn = fake_uow()
    before = REGISTRY.get_sample_value("seamline_finance_posting_failures_total") or 0.0
    poster(uow, [("sale", "ord_1")])  # no exception: the sale stands
    assert conn.savepoints == ["rolled back"]
    assert uow.events == [], "no DocumentPosted for a document that was rolled back"
    assert REGISTRY.get_sample_value("seamline_finance_posting_failures_total") == before + 1


def test_the_design_document_lists_every_event_and_its_handlers_in_the_tables_order() -> None:
    design = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    rows = [line for line in design.splitlines() if line.strip().startswith("| `") and "` | `" in line]
    documented = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        documented[cells[0].strip("`")] = re.findall(r"`(\w+)`", cells[1])
    table = [(event_type.__name__, [h.__name__ for h in handlers]) for event_type, handlers in EVENT_HANDLERS.items()]
    listed = [(name, [h for h in documented.get(name, []) if not h[0].isupper()]) for name, _ in table]
    assert listed == table, "docs/design.md, 'The write path', lists the handler table as built"
