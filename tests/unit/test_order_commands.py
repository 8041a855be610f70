"""The order commands' business rules against a fake unit of work (``tests/unit/fakes.py``): placing an
order by its channel's shortage policy, checking a till sale, and what a return may take back and where the
units go. No database and no HTTP; SQL, locking and whole flows stay in ``tests/integration``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from seamline.domain.errors import Conflict, Forbidden, InvalidInput, Shortage
from seamline.orders.events import OrderShipped, ReturnBooked, SaleRecorded
from seamline.orders.returns import ReturnRequestLine
from seamline.service.orders import (
    Fulfilment,
    GiftCardSaleRequest,
    LineRequest,
    OrderPlacing,
    OrderRequest,
    PosSales,
    ReturnRequest,
    Returns,
    SaleRequest,
    TenderRequest,
)
from seamline.service.principal import Principal
from tests.unit.fakes import FakeStore

M, L = "TEE-001-NVY-M", "TEE-001-NVY-L"
RETAIL = {(M, "retail", "GBP"): Decimal("25.00"), (L, "retail", "GBP"): Decimal("25.00")}
WHOLESALE = {(M, "wholesale", "GBP"): Decimal("11.00")}
LOCATIONS = {"WH": "warehouse", "STORE-1": "store", "STORE-2": "store", "customer": "customer", "damaged": "damaged"}


def store_with(*, on_shortage: str = "reject", stock: dict[tuple[str, str], int] | None = None) -> FakeStore:
    return FakeStore(
        locations=LOCATIONS,
        skus={M: "variant", L: "variant"},
        channels={
            "web": {"kind": "shopify", "sources": ["WH"], "on_shortage": on_shortage},
            "pos:STORE-1": {"kind": "pos", "sources": ["STORE-1"]},
            "b2b": {"kind": "wholesale", "sources": ["WH"], "on_shortage": "backorder"},
        },
        prices=RETAIL | WHOLESALE,
        stock=stock or {},
    )


@pytest.fixture
def store() -> FakeStore:
    return store_with(stock={(M, "WH"): 1, (M, "STORE-1"): 3})


def web_order(qty: int, *, external_id: str = "1001", **terms: object) -> OrderRequest:
    return OrderRequest("web", external_id, [LineRequest(M, qty)], "GBP", **terms)  # type: ignore[arg-type]


def till_sale(qty: int, tenders: list[TenderRequest], *, location: str = "STORE-1") -> SaleRequest:
    return SaleRequest(location, "till-7/0042", [LineRequest(M, qty)], tenders, "GBP")


# ------------------------------------------------------------------------------------------------ placing
def test_an_order_short_of_stock_on_a_rejecting_channel_is_refused_naming_what_is_short(store: FakeStore) -> None:
    with pytest.raises(Shortage) as short:
        OrderPlacing(store.app()).place_order(store.uow(), web_order(2))
    assert [(line.sku, line.requested, line.available) for line in short.value.lines] == [(M, 2, 1)]
    assert store.allocations == []


def test_an_order_on_a_backordering_channel_takes_what_is_there_and_backorders_the_rest() -> None:
    store = store_with(on_shortage="backorder", stock={(M, "WH"): 1})
    placed = OrderPlacing(store.app()).place_order(store.uow(), web_order(3))
    assert placed.created
    assert placed.order["status"] == "partially_allocated"
    assert [(line["allocated"], line["backordered"]) for line in placed.order["lines"]] == [(1, 2)]
    assert placed.order["total"] == "75.00"  # three units at the retail list price, none given
    assert placed.order["allocations"] == [{"sku": M, "location": "WH", "qty": 1}]


def test_the_same_external_id_placed_twice_answers_the_first_order_and_allocates_once(store: FakeStore) -> None:
    placing = OrderPlacing(store.app())
    first = placing.place_order(store.uow(), web_order(1))
    again = placing.place_order(store.uow(), web_order(1))
    assert (first.created, again.created) == (True, False)
    assert again.order["id"] == first.order["id"]
    assert len(store.allocations) == 1


def test_wholesale_terms_on_a_web_order_are_refused_before_anything_is_claimed(store: FakeStore) -> None:
    with pytest.raises(InvalidInput) as bad:
        OrderPlacing(store.app()).place_order(store.uow(), web_order(1, prebook=True))
    assert bad.value.errors[0].field == "kind"
    assert store.orders == {}


# ------------------------------------------------------------------------------------------------ fulfilment
def test_picking_more_than_is_allocated_is_refused_and_moves_nothing(store: FakeStore) -> None:
    order = OrderPlacing(store.app()).place_order(store.uow(), web_order(1)).order
    with pytest.raises(InvalidInput):
        Fulfilment(store.app()).pick(store.uow(), order["id"], [(M, 2)])
    assert store.movements == []
    assert store.available(M, "WH") == 0  # still allocated


def test_a_picked_packed_order_ships_as_one_parcel_and_says_so_in_an_order_shipped_event(store: FakeStore) -> None:
    order_id = OrderPlacing(store.app()).place_order(store.uow(), web_order(1)).order["id"]
    steps = Fulfilment(store.app())
    steps.pick(store.uow(), order_id)
    steps.pack(store.uow(), order_id)
    uow = store.uow()
    shipped = steps.ship(uow, order_id, "TRK1", carrier="DPD")
    assert shipped["status"] == "shipped"
    assert store.on_hand[(M, "WH")] == 0  # the pick took it off the shelf
    assert [(s["lines"], s["tracking"]) for s in store.shipments] == [([{"line_no": 1, "sku": M, "qty": 1}], "TRK1")]
    assert uow.events == [OrderShipped(order_id)]


def test_a_wholesale_order_does_not_ship_before_its_window_opens(store: FakeStore) -> None:
    order = OrderRequest("b2b", "PO-1", [LineRequest(M, 1)], "GBP", ship_start=date(2026, 4, 1))
    order_id = OrderPlacing(store.app()).place_order(store.uow(), order).order["id"]
    steps = Fulfilment(store.app())
    steps.pick(store.uow(), order_id)
    steps.pack(store.uow(), order_id)
    with pytest.raises(Conflict) as early:
        steps.ship(store.uow(), order_id)
    assert early.value.code == "outside-ship-window"
    assert store.shipments == []


def test_cancelling_gives_the_allocated_units_back_to_available(store: FakeStore) -> None:
    order_id = OrderPlacing(store.app()).place_order(store.uow(), web_order(1)).order["id"]
    assert store.available(M, "WH") == 0
    cancelled = Fulfilment(store.app()).cancel(store.uow(), order_id)
    assert cancelled["status"] == "cancelled"
    assert store.available(M, "WH") == 1


# ------------------------------------------------------------------------------------------------ POS sales
def test_a_store_token_may_not_record_a_sale_at_another_store(store: FakeStore) -> None:
    store_one = Principal("tok_1", "store one", frozenset({"location:STORE-1"}))
    with pytest.raises(Forbidden):
        PosSales(store.app()).check_sale(
            store.uow(), till_sale(1, [TenderRequest("cash", "25.00")], location="STORE-2"), store_one
        )


def test_a_sale_whose_tenders_do_not_add_up_to_its_total_is_refused_naming_what_is_due(store: FakeStore) -> None:
    with pytest.raises(InvalidInput) as bad:
        PosSales(store.app()).check_sale(store.uow(), till_sale(2, [TenderRequest("card", "25.00")]))
    assert bad.value.code == "tenders-mismatch"
    assert bad.value.errors[0].message == "must add up to 50.00"


def test_checking_a_sale_writes_nothing(store: FakeStore) -> None:
    PosSales(store.app()).check_sale(store.uow(), till_sale(2, [TenderRequest("card", "50.00")]))
    assert (store.orders, store.movements) == ({}, [])


def test_a_sale_takes_the_units_out_of_the_store_and_says_so_in_a_sale_recorded_event(store: FakeStore) -> None:
    uow = store.uow()
    sale = PosSales(store.app()).record_sale(uow, till_sale(2, [TenderRequest("card", "50.00")]))
    assert sale.created
    assert sale.order["status"] == "closed"
    assert store.available(M, "STORE-1") == 1
    assert uow.events == [SaleRecorded(sale.order["id"])]


def test_the_same_till_receipt_recorded_twice_answers_the_first_sale_and_sells_the_units_once(
    store: FakeStore,
) -> None:
    sales = PosSales(store.app())
    first = sales.record_sale(store.uow(), till_sale(1, [TenderRequest("card", "25.00")]))
    again_uow = store.uow()
    again = sales.record_sale(again_uow, till_sale(1, [TenderRequest("card", "25.00")]))
    assert (first.created, again.created) == (True, False)
    assert again.order["id"] == first.order["id"]
    assert store.available(M, "STORE-1") == 2
    assert again_uow.events == [], "a repeated receipt is not a second sale"


def test_a_sale_of_more_than_the_store_has_is_a_shortage_unless_forced(store: FakeStore) -> None:
    with pytest.raises(Shortage) as short:
        PosSales(store.app()).record_sale(store.uow(), till_sale(4, [TenderRequest("card", "100.00")]))
    assert [(line.sku, line.requested, line.available) for line in short.value.lines] == [(M, 4, 3)]
    assert store.movements == []


def test_the_tenders_of_a_sale_that_sells_gift_cards_pay_the_goods_and_the_cards(store: FakeStore) -> None:
    cards = [GiftCardSaleRequest("30.00"), GiftCardSaleRequest("20.00", "PRINTED-1")]
    short = replace(till_sale(1, [TenderRequest("card", "25.00")]), gift_cards=cards)
    with pytest.raises(InvalidInput) as bad:
        PosSales(store.app()).check_sale(store.uow(), short)
    assert bad.value.errors[0].message == "must add up to 75.00"
    sale = PosSales(store.app()).record_sale(store.uow(), replace(short, tenders=[TenderRequest("card", "75.00")]))
    assert sale.order["total"] == "75.00"  # what the till took: the goods and the cards
    assert store.available(M, "STORE-1") == 2  # the cards took no stock


def test_a_gift_card_sold_needs_a_positive_amount_and_a_well_formed_code(store: FakeStore) -> None:
    cards = [GiftCardSaleRequest("0.00"), GiftCardSaleRequest("5.00", "no spaces allowed")]
    with pytest.raises(InvalidInput) as bad:
        PosSales(store.app()).check_sale(
            store.uow(), replace(till_sale(1, [TenderRequest("card", "30.00")]), gift_cards=cards)
        )
    assert [e.field for e in bad.value.errors] == ["gift_cards[0].amount", "gift_cards[1].code"]


def test_a_sale_of_gift_cards_only_needs_no_goods_but_a_sale_of_nothing_is_refused(store: FakeStore) -> None:
    nothing = SaleRequest("STORE-1", "till-7/0043", [], [TenderRequest("cash", "10.00")], "GBP")
    with pytest.raises(InvalidInput) as bad:
        PosSales(store.app()).check_sale(store.uow(), nothing)
    assert bad.value.errors[0].field == "lines"
    PosSales(store.app()).check_sale(store.uow(), replace(nothing, gift_cards=[GiftCardSaleRequest("10.00")]))


# ------------------------------------------------------------------------------------------------ returns
def test_a_return_puts_sellable_units_back_at_the_store_damaged_ones_aside_and_refunds_the_tender(
    store: FakeStore,
) -> None:
    sale = PosSales(store.app()).record_sale(store.uow(), till_sale(2, [TenderRequest("card", "50.00")]))
    uow = store.uow()
    lines = [ReturnRequestLine(M, 1, "sellable"), ReturnRequestLine(M, 1, "damaged")]
    returned = Returns(store.app()).record_return(uow, ReturnRequest(sale.order["id"], "STORE-1", lines))
    assert store.available(M, "STORE-1") == 2  # three, two sold, one back on the shelf
    assert store.on_hand[(M, "damaged")] == 1
    assert returned["refund"]["tenders"] == [{"tender": "card", "amount": "50.00"}]
    assert uow.events == [ReturnBooked(returned["id"])]


def test_returning_more_than_was_sold_is_refused_and_moves_nothing(store: FakeStore) -> None:
    sale = PosSales(store.app()).record_sale(store.uow(), till_sale(1, [TenderRequest("card", "25.00")]))
    moved = list(store.movements)
    with pytest.raises(InvalidInput) as bad:
        Returns(store.app()).record_return(
            store.uow(), ReturnRequest(sale.order["id"], "STORE-1", [ReturnRequestLine(M, 2, "sellable")])
        )
    assert bad.value.code == "return-exceeds-sold"
    assert store.movements == moved
    assert store.returns == {}
