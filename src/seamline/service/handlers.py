"""What happens when a write commits: the one table of domain events and their handlers.

Every write runs in a unit of work (``seamline.service.unit_of_work``). Its code raises domain events as it
changes state; when its work is done, still inside the same transaction, ``MessageBus.handle`` runs the
handlers below for them. What a handler writes (an outbox event, an availability journal row, a finance
document) commits or rolls back with the change itself: no event without its state, no state without its
event. A handler may raise further events (posting a document raises ``DocumentPosted``); they are handled
in the next round, until none is left.

Order, deterministic: round by round (the work's own events, then those its handlers raised, ...). Within a
round, event types in the order of ``EVENT_HANDLERS`` below, and for each type its handlers in the order
listed. Each handler gets every event of its type in the round at once, in the order raised (so a batch of
64 sales writes its availability journal in one statement, not 64).

Who provides what: a handler needs a collaborator that lives elsewhere (finance posting, the till catalog,
the integration layer's outbox and availability journal). They are plugged into ``Dependencies`` by whoever
installs them (``service.bootstrap`` installs finance and the till catalog; ``integration.install`` the
outbox announcements and the journal). A handler whose collaborator is not installed does nothing.

What happens when a till sale commits?  The sale raised ``BalancesChanged`` (the store's stock went down)
and ``SaleRecorded``: finance posts its sales receipt (in a savepoint: a posting failure is logged and
counted, the sale stands, the sweep posts it later), which raises ``DocumentPosted``; the changed balance
rows are appended to the availability journal (the publisher turns them into ``AvailabilityChanged``
after commit); and in the next round ``FinanceDocumentPosted`` goes into the outbox for the accounting
connectors. All in the sale's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from seamline.catalog.events import StyleSaved, TillCatalogChanged
from seamline.domain.events import DomainEvent
from seamline.finance.events import DocumentPosted, InventoryValued
from seamline.ledger.events import BalancesChanged
from seamline.ledger.model import VIRTUAL_LOCATIONS
from seamline.orders.events import OrderCancelled, OrderLinesCancelled, OrderShipped, ReturnBooked, SaleRecorded
from seamline.service.unit_of_work import UnitOfWork

#: (kind, key) of a business fact finance posts a document for: ("sale", order id), ("shipment", order id),
#: ("return", return id).
Cause = tuple[str, str]


class FinancePosting(Protocol):
    """``service.finance.FinancePoster``: posts the documents of these causes in a savepoint of ``uow``."""

    def __call__(self, uow: UnitOfWork, causes: Sequence[Cause]) -> None: ...


class TillCatalogPublishing(Protocol):
    """``service.tills.TillCatalogPublisher``: republishes the till catalog for these styles."""

    def __call__(self, uow: UnitOfWork, styles: Sequence[str]) -> None: ...


class CostPosting(Protocol):
    """``service.costing.CostPoster``: books value at cost in the journal, in a savepoint of ``uow``."""

    def inventory_valued(self, uow: UnitOfWork, events: Sequence[InventoryValued]) -> None: ...

    def orders_shipped(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None: ...


class Announcements(Protocol):
    """The integration layer's outbox (``integration.announcements``): business facts become integration
    events, in the same transaction."""

    def styles_changed(self, uow: UnitOfWork, styles: Sequence[str]) -> None: ...

    def orders_shipped(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None: ...

    def orders_cancelled(self, uow: UnitOfWork, order_ids: Sequence[str]) -> None: ...

    def order_lines_cancelled(self, uow: UnitOfWork, events: Sequence[OrderLinesCancelled]) -> None: ...

    def returns_booked(self, uow: UnitOfWork, return_ids: Sequence[str]) -> None: ...

    def documents_posted(self, uow: UnitOfWork, documents: Sequence[dict[str, Any]]) -> None: ...

    def till_catalog_changed(self, uow: UnitOfWork, changes: Sequence[TillCatalogChanged]) -> None: ...


class Journal(Protocol):
    """The integration layer's availability journal (``integration.availability.AvailabilityJournal``)."""

    def balances_changed(self, uow: UnitOfWork, rows: Sequence[tuple[str, str]]) -> None: ...


@dataclass
class Dependencies:
    finance: FinancePosting | None = None  # service.finance.install
    till_catalog: TillCatalogPublishing | None = None  # service.tills.install
    announcements: Announcements | None = None  # integration.install
    journal: Journal | None = None  # integration.install
    costing: CostPosting | None = None  # service.costing.install


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ------------------------------------------------------------------------------------------------ handlers
def announce_style_changes(deps: Dependencies, uow: UnitOfWork, events: Sequence[StyleSaved]) -> None:
    """``StyleChanged`` into the outbox per style saved: a storefront (Shopify) publishes the master again."""
    if deps.announcements is not None:
        deps.announcements.styles_changed(uow, sorted({e.code for e in events}))


def republish_till_catalog(deps: Dependencies, uow: UnitOfWork, events: Sequence[StyleSaved]) -> None:
    """The till catalog takes the saved styles' new prices and names (raises ``TillCatalogChanged``)."""
    if deps.till_catalog is not None:
        deps.till_catalog(uow, sorted({e.code for e in events}))


def announce_shipments(deps: Dependencies, uow: UnitOfWork, events: Sequence[OrderShipped]) -> None:
    """``OrderShipped`` into the outbox: the channel the order came from creates its fulfilment."""
    if deps.announcements is not None:
        deps.announcements.orders_shipped(uow, sorted({e.order_id for e in events}))


def announce_cancellations(deps: Dependencies, uow: UnitOfWork, events: Sequence[OrderCancelled]) -> None:
    """``OrderCancelled`` into the outbox: the marketplace the order came from is told (Amazon)."""
    if deps.announcements is not None:
        deps.announcements.orders_cancelled(uow, _unique([e.order_id for e in events]))


def announce_line_cancellations(deps: Dependencies, uow: UnitOfWork, events: Sequence[OrderLinesCancelled]) -> None:
    """``OrderLinesCancelled`` into the outbox: the channel the order came from cancels those units (Mirakl
    OR30)."""
    if deps.announcements is not None:
        deps.announcements.order_lines_cancelled(uow, list(events))


def post_credit_notes(deps: Dependencies, uow: UnitOfWork, events: Sequence[ReturnBooked]) -> None:
    """Finance posts the return's credit note and refunds (raises ``DocumentPosted``)."""
    if deps.finance is not None:
        deps.finance(uow, [("return", key) for key in _unique([e.return_id for e in events])])


def announce_returns(deps: Dependencies, uow: UnitOfWork, events: Sequence[ReturnBooked]) -> None:
    """``ReturnBooked`` into the outbox: the channel the order came from refunds it (Mirakl OR28)."""
    if deps.announcements is not None:
        deps.announcements.returns_booked(uow, _unique([e.return_id for e in events]))


def post_sales_receipts(deps: Dependencies, uow: UnitOfWork, events: Sequence[SaleRecorded]) -> None:
    """Finance posts the till sale's sales receipt (raises ``DocumentPosted``)."""
    if deps.finance is not None:
        deps.finance(uow, [("sale", key) for key in _unique([e.order_id for e in events])])


def post_invoices(deps: Dependencies, uow: UnitOfWork, events: Sequence[OrderShipped]) -> None:
    """Finance invoices what shipped and applies the order's payments (raises ``DocumentPosted``)."""
    if deps.finance is not None:
        deps.finance(uow, [("shipment", key) for key in _unique([e.order_id for e in events])])


def book_cost_of_shipments(deps: Dependencies, uow: UnitOfWork, events: Sequence[OrderShipped]) -> None:
    """Cost of goods sold for what the order's picks took off the shelves (raises ``DocumentPosted``)."""
    if deps.costing is not None:
        deps.costing.orders_shipped(uow, _unique([e.order_id for e in events]))


def book_inventory_value(deps: Dependencies, uow: UnitOfWork, events: Sequence[InventoryValued]) -> None:
    """Value at cost crossing the walls goes to the journal, one entry per cause: a till sale's COGS, a
    return's reversal, a receipt, a count's or an adjustment's shrinkage (raises ``DocumentPosted``)."""
    if deps.costing is not None:
        deps.costing.inventory_valued(uow, list(events))


def journal_availability(deps: Dependencies, uow: UnitOfWork, events: Sequence[BalancesChanged]) -> None:
    """The changed balance rows go to the availability journal; the publisher recomputes ATP after commit.

    Rows at the built-in virtual locations (supplier, customer, adjustment, ...; one of each, under its kind as
    code, never re-created as a sellable one) are left out: a channel sources only sellable locations
    (``put_channel``), so no ATP reads them. A receipt of 100k lines journals its 100k received rows, not
    200k; a till sale its store's row, not the customer's too. No statement: the codes are constants."""
    if deps.journal is not None:
        rows = {row for e in events for row in e.rows if row[1] not in VIRTUAL_LOCATIONS}
        deps.journal.balances_changed(uow, sorted(rows))


def announce_till_catalog(deps: Dependencies, uow: UnitOfWork, events: Sequence[TillCatalogChanged]) -> None:
    """``StoreCatalogChanged`` into the outbox: a POS connector pushes the changed styles and prices."""
    if deps.announcements is not None:
        deps.announcements.till_catalog_changed(uow, list(events))


def announce_documents(deps: Dependencies, uow: UnitOfWork, events: Sequence[DocumentPosted]) -> None:
    """``FinanceDocumentPosted`` into the outbox: the accounting connectors (Xero, QuickBooks) export it."""
    if deps.announcements is not None:
        deps.announcements.documents_posted(uow, [e.document for e in events])


Handler = Callable[[Dependencies, UnitOfWork, Sequence[Any]], None]

# ------------------------------------------------------------------------------------------------ THE MAP
#: Event type -> its handlers, in the order they run. The key order is the order event types are handled
#: within a round. A new consequence of a business fact is one more line here.
EVENT_HANDLERS: dict[type[DomainEvent], list[Handler]] = {
    StyleSaved: [announce_style_changes, republish_till_catalog],
    OrderShipped: [announce_shipments, post_invoices, book_cost_of_shipments],
    OrderCancelled: [announce_cancellations],
    OrderLinesCancelled: [announce_line_cancellations],
    ReturnBooked: [
        post_credit_notes,
        announce_returns,
    ],  # before SaleRecorded: an exchange books its return, then its sale
    SaleRecorded: [post_sales_receipts],
    InventoryValued: [book_inventory_value],
    BalancesChanged: [journal_availability],
    TillCatalogChanged: [announce_till_catalog],
    DocumentPosted: [announce_documents],
}

#: Rounds of handlers one commit may run before the bus gives up (a handler raising the event it handles).
MAX_ROUNDS = 10


class MessageBus:
    """Runs ``handlers`` (``EVENT_HANDLERS`` unless a test gives its own) for a unit of work's events."""

    def __init__(
        self, deps: Dependencies | None = None, handlers: dict[type[DomainEvent], list[Handler]] | None = None
    ) -> None:
        self.deps = deps or Dependencies()
        self.handlers = EVENT_HANDLERS if handlers is None else handlers
        self._order = {event_type: i for i, event_type in enumerate(self.handlers)}

    def handle(self, uow: UnitOfWork) -> None:
        """Handle every event ``uow`` raised, and every event its handlers raise, until none is left. Called
        inside the transaction, after the work and before commit. An event type the table does not list is
        an error: a fact nobody decided the consequences of."""
        for _ in range(MAX_ROUNDS):
            events = uow.collect_events()
            if not events:
                return
            by_type: dict[type[DomainEvent], list[DomainEvent]] = {}
            for event in events:
                if type(event) not in self._order:
                    raise LookupError(f"no handlers declared for {type(event).__name__}")
                by_type.setdefault(type(event), []).append(event)
            for event_type in sorted(by_type, key=self._order.__getitem__):
                for handler in self.handlers[event_type]:
                    handler(self.deps, uow, by_type[event_type])
        raise RuntimeError(f"events still raised after {MAX_ROUNDS} rounds of handlers: {uow.events!r}")


__all__ = ["EVENT_HANDLERS", "Dependencies", "MessageBus"]
