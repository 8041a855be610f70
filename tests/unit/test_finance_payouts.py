"""Marketplace payout reports read into plain records, booked as one balanced entry, and matched order by
order against our documents (finance.payouts).

The Amazon sample follows the published layout of the Settlement report, flat file V2
(``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``, Seller Central's "Settlement report V2" column list and the
SP-API report type values): tab separated, a header, a summary row with ``total-amount`` and
``deposit-date``, then one row per ``transaction-type``/``amount-type``/``amount-description``. The Mirakl
sample follows TL02 ``GET /api/sellerpayment/transactions_logs`` of the Mirakl seller API (fields
``transaction_type``, ``amount``, ``currency_iso_code``, ``entities.order.id``, ``payment_voucher_number``,
the ``PAYMENT`` transaction being the transfer to the seller's bank). Amounts and ids are ours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from seamline.domain.errors import InvalidInput
from seamline.finance.chart import FinanceConfig
from seamline.finance.journal import trial_balance
from seamline.finance.payouts import (
    LineKind,
    OrderMoney,
    invoice_payments,
    match_order,
    parse_amazon_settlement,
    parse_mirakl_transaction_logs,
    parse_payout_report,
    payout_entry,
)

HEADER = (
    "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\t"
    "transaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\t"
    "amount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\t"
    "merchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id"
)
O1, O2 = "302-1111111-1111111", "302-2222222-2222222"


def amazon_row(
    ttype: str, order: str, atype: str, desc: str, amount: str, *, adjustment: str = "", sku: str = "OVS-M"
) -> str:
    cells = [
        "11818265391", "", "", "", "", "EUR", ttype, order, "", adjustment, "" if adjustment else "DkqXb1Yzx",
        "Amazon.de", atype, desc, amount, "MFN" if ttype == "Order" else "", "2026-11-10",
        "2026-11-10 14:02:11 UTC", "53453451234", "", "", sku if order else "", "1" if ttype == "Order" else "", "",
    ]  # fmt: skip
    return "\t".join(cells)


def amazon_report(total: str = "70.95", *, principal: str = "89.00") -> str:
    summary = "\t".join(
        ["11818265391", "2026-11-01 00:00:00 UTC", "2026-11-15 00:00:00 UTC", "2026-11-17 00:00:00 UTC", total, "EUR"]
        + [""] * 18
    )
    rows = [
        amazon_row("Order", O1, "ItemPrice", "Principal", principal),
        amazon_row("Order", O1, "ItemPrice", "Tax", "16.91"),
        amazon_row("Order", O1, "ItemPrice", "Shipping", "4.95"),
        amazon_row("Order", O1, "ItemPrice", "ShippingTax", "0.94"),
        amazon_row("Order", O1, "Promotion", "Principal", "-10.00"),
        amazon_row("Order", O1, "ItemFees", "Commission", "-15.12"),
        amazon_row("Order", O2, "ItemPrice", "Principal", "59.00", sku="OVS-L"),
        amazon_row("Order", O2, "ItemPrice", "Tax", "11.21", sku="OVS-L"),
        amazon_row("Order", O2, "ItemFees", "Commission", "-10.53", sku="OVS-L"),
        amazon_row("Refund", O1, "ItemPrice", "Principal", "-30.00", adjustment="amzn1.adj.1"),
        amazon_row("Refund", O1, "ItemPrice", "Tax", "-5.70", adjustment="amzn1.adj.1"),
        amazon_row("Refund", O1, "ItemFees", "Commission", "5.36", adjustment="amzn1.adj.1"),
        amazon_row("Refund", O1, "ItemFees", "RefundCommission", "-1.07", adjustment="amzn1.adj.1"),
        amazon_row("other-transaction", "", "other-transaction", "Subscription Fee", "-39.00"),
        amazon_row("other-transaction", "", "other-transaction", "Previous Reserve Amount Balance", "20.00"),
        amazon_row("other-transaction", "", "other-transaction", "Current Reserve Amount", "-25.00"),
    ]
    return "\n".join([HEADER, summary, *rows]) + "\n"


def test_an_amazon_settlement_report_is_one_payout_with_its_order_money_fees_and_reserve_apart() -> None:
    [payout] = parse_amazon_settlement(amazon_report())
    assert (payout.source, payout.id, payout.currency, payout.total) == (
        "amazon",
        "11818265391",
        "EUR",
        Decimal("70.95"),
    )
    assert (payout.start, payout.end, payout.deposit_date) == (
        date(2026, 11, 1),
        date(2026, 11, 15),
        date(2026, 11, 17),
    )
    assert payout.sum_of(LineKind.SALE) == Decimal("172.01")  # 101.80 + 70.21: principal, tax, shipping, promotion
    assert payout.sum_of(LineKind.REFUND) == Decimal("-35.70")
    assert payout.sum_of(LineKind.FEE) == Decimal("-60.36")  # commissions net of the refunded one, subscription
    assert payout.sum_of(LineKind.RESERVE) == Decimal("-5.00")
    assert payout.order_money() == {O1: (Decimal("101.80"), Decimal("-35.70")), O2: (Decimal("70.21"), Decimal("0"))}
    first = payout.lines[0]
    assert (first.category, first.order_ref, first.sku, first.posted) == (
        "Order/ItemPrice/Principal",
        O1,
        "OVS-M",
        date(2026, 11, 10),
    )


def test_a_settlement_whose_amounts_do_not_add_up_to_its_deposit_is_refused_naming_the_summary_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amazon_settlement(amazon_report(total="80.95"))
    [error] = caught.value.errors
    assert error.field == "report.line2.total-amount"
    assert "70.95" in error.message


def test_a_report_without_the_flat_file_columns_or_with_a_bad_amount_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_amazon_settlement("order-id\tamount\n1\t2\n")
    with pytest.raises(InvalidInput) as caught:
        parse_amazon_settlement(amazon_report(principal="eighty-nine"))
    assert [e.field for e in caught.value.errors] == ["report.line3.amount"]


def test_continental_dates_and_decimal_commas_are_read() -> None:
    text = (
        amazon_report()
        .replace("2026-11-17 00:00:00 UTC", "17.11.2026 00:00:00 UTC")
        .replace("\t-10.00\t", "\t-10,00\t")
    )
    [payout] = parse_amazon_settlement(text)
    assert payout.deposit_date == date(2026, 11, 17)
    assert payout.order_money()[O1][0] == Decimal("101.80")


def mirakl_line(txn: str, ttype: str, amount: str, order: str | None = "ZL-7007-A") -> dict[str, object]:
    line: dict[str, object] = {
        "id": txn,
        "transaction_type": ttype,
        "amount": float(amount),
        "currency_iso_code": "EUR",
        "date_created": "2026-11-20T08:00:00Z",
        "transaction_date": "2026-11-20T08:00:00Z",
        "payment_state": "PAID",
        "payment_voucher_number": "PV-2026-0042",
        "accounting_document_number": "INV-0042",
        "entities": {"order": {"id": order}} if order else {},
    }
    return line


def mirakl_report(payment: str = "-40.22") -> dict[str, object]:
    return {
        "data": [
            mirakl_line("t1", "ORDER_AMOUNT", "100.00"),
            mirakl_line("t2", "ORDER_SHIPPING_AMOUNT", "4.95"),
            mirakl_line("t3", "COMMISSION_FEE", "-15.74"),
            mirakl_line("t4", "COMMISSION_VAT", "-2.99"),
            mirakl_line("t5", "REFUND_ORDER_AMOUNT", "-20.00"),
            mirakl_line("t6", "REFUND_COMMISSION_FEE", "3.00"),
            mirakl_line("t7", "SUBSCRIPTION_FEE", "-29.00", order=None),
            mirakl_line("t8", "PAYMENT", payment, order=None),
        ],
        "next_page_token": None,
    }


def test_mirakl_transaction_lines_paid_by_one_voucher_are_one_payout_of_the_payment_amount() -> None:
    [payout] = parse_payout_report("mirakl", mirakl_report())
    assert (payout.source, payout.id, payout.total, payout.deposit_date) == (
        "mirakl",
        "PV-2026-0042",
        Decimal("40.22"),
        date(2026, 11, 20),
    )
    assert payout.order_money() == {"ZL-7007-A": (Decimal("104.95"), Decimal("-20.00"))}
    assert payout.sum_of(LineKind.FEE) == Decimal("-44.73")
    assert all(li.kind is not LineKind.SALE or li.order_ref == "ZL-7007-A" for li in payout.lines)


def test_mirakl_lines_not_paid_out_yet_or_whose_payment_differs_are_refused() -> None:
    unpaid = mirakl_report()
    unpaid["data"] = [d for d in unpaid["data"] if d["transaction_type"] != "PAYMENT"]  # type: ignore[attr-defined,index]
    with pytest.raises(InvalidInput, match="not valid") as caught:
        parse_mirakl_transaction_logs(unpaid)
    assert "not paid out yet" in caught.value.errors[0].message
    with pytest.raises(InvalidInput) as caught:
        parse_mirakl_transaction_logs(mirakl_report(payment="-41.22"))
    assert "41.22" in caught.value.errors[0].message


def test_a_payout_books_the_deposit_fees_and_reserve_and_clears_what_the_orders_paid() -> None:
    [payout] = parse_amazon_settlement(amazon_report())
    config = FinanceConfig()
    entry = payout_entry(payout, config, "payout:amazon:11818265391", date(2026, 11, 17))
    balances = trial_balance([entry])
    assert balances[("1020", "EUR")] == Decimal("70.95")  # the bank
    assert balances[("6150", "EUR")] == Decimal("60.36")  # the marketplace's fees
    # The clearing of the amazon tender loses the orders' money, less the refunds and the reserve still held.
    assert balances[(config.tender_account("amazon"), "EUR")] == Decimal("-172.01") + Decimal("35.70") + Decimal("5.00")
    assert sum(balances.values()) == 0


def test_what_a_payout_settled_must_be_a_run_of_the_orders_payments_and_refunds() -> None:
    ours = OrderMoney("ord_1", "EUR", (Decimal("101.80"), Decimal("40.00")), (Decimal("35.70"),), ("PAY-1", "PAY-2"))
    assert match_order("amazon", O1, "EUR", Decimal("101.80"), Decimal("-35.70"), ours, ["s1"]) == []
    # The second shipment paid in a later payout: both together are the two payments.
    assert match_order("amazon", O1, "EUR", Decimal("141.80"), Decimal(0), ours, ["s1", "s2"]) == []
    [wrong] = match_order("amazon", O1, "EUR", Decimal("111.80"), Decimal(0), ours, ["s1"])
    assert (wrong.problem, wrong.theirs, wrong.ours, wrong.documents) == (
        "sale_amount",
        Decimal("111.80"),
        Decimal("101.80"),
        ("PAY-1", "PAY-2"),
    )
    [refund] = match_order("amazon", O1, "EUR", Decimal("101.80"), Decimal("-40.00"), ours, ["s1"])
    assert refund.problem == "refund_amount"


def test_an_order_we_never_invoiced_or_in_another_currency_is_a_discrepancy() -> None:
    [unknown] = match_order("amazon", O2, "EUR", Decimal("70.21"), Decimal(0), None, ["s1"])
    assert (unknown.problem, unknown.theirs, unknown.ours) == ("unknown_order", Decimal("70.21"), None)
    pounds = OrderMoney("ord_2", "GBP", (Decimal("70.21"),), ())
    assert match_order("amazon", O2, "EUR", Decimal("70.21"), Decimal(0), pounds, ["s1"])[0].problem == "currency"


def test_a_payout_pays_the_first_open_invoices_exactly_or_nothing() -> None:
    unpaid = [("inv_1", Decimal("101.80")), ("inv_2", Decimal("40.00"))]
    assert invoice_payments(Decimal("101.80"), Decimal(0), unpaid) == [("inv_1", Decimal("101.80"))]
    assert invoice_payments(Decimal("141.80"), Decimal(0), unpaid) == unpaid
    # Already paid with the marketplace's tender when invoiced (Amazon): nothing more to pay.
    assert invoice_payments(Decimal("101.80"), Decimal("101.80"), [("inv_1", Decimal(0))]) == []
    # An amount that pays no run of open invoices pays none of them: it is a discrepancy.
    assert invoice_payments(Decimal("111.80"), Decimal(0), unpaid) is None
    assert invoice_payments(Decimal("90.00"), Decimal("101.80"), unpaid) is None


def test_refunds_the_order_queue_booked_as_the_channels_clear_that_tenders_account() -> None:
    [payout] = parse_amazon_settlement(amazon_report())
    config = FinanceConfig(tender_accounts={"amazon": "1095", "original_payment": "1090"})
    entry = payout_entry(payout, config, "payout:x", date(2026, 11, 17), {O1: "original_payment"})
    balances = trial_balance([entry])
    assert balances[("1090", "EUR")] == Decimal("35.70")  # O1's refunds, where its refund document put them
    assert balances[("1095", "EUR")] == Decimal("-172.01") + Decimal("5.00")
