"""Square payout entries and Adyen's Settlement details report as processor transactions, on rows written for
this suite in the shapes the platforms publish: Square's ListPayoutEntries example (a CHARGE of 100 with a
fee of 19, a REFUND of -50 with -2 fee returned; ``currency_code`` as in its reference example) and the rows
of Adyen's sample report (``Settled`` with markup/scheme/interchange, ``Chargeback`` with commission, fee and
payout lines)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from seamline.domain.errors import InvalidInput
from seamline.finance.processors import (
    parse_adyen_settlement_details,
    parse_processor_report,
    parse_square_payout_entries,
    totals,
)


def square_entry(n: int, kind: str, gross: int, fee: int, net: int | None = None) -> dict[str, Any]:
    return {
        "id": f"poe_{n}",
        "payout_id": "po_4d28e6c4",
        "effective_at": "2021-12-14T23:31:49Z",
        "type": kind,
        "gross_amount_money": {"amount": gross, "currency_code": "USD"},
        "fee_amount_money": {"amount": fee, "currency_code": "USD"},
        "net_amount_money": {"amount": gross - fee if net is None else net, "currency_code": "USD"},
        f"type_{kind.lower()}_details": {"payment_id": f"pay_{n}"},
    }


def test_square_payout_entries_are_charges_refunds_and_the_rest_kept_aside() -> None:
    answer = {
        "payout_entries": [
            square_entry(1, "REFUND", -50, -2),
            square_entry(2, "CHARGE", 100, 19),
            square_entry(3, "DEPOSIT_FEE", -25, 0),
        ],
        "cursor": "next",
    }
    parsed = parse_square_payout_entries(answer)
    assert [(t.id, t.type, t.amount, t.fee, t.net, t.is_taking) for t in parsed] == [
        ("poe_1", "refund", Decimal("-0.50"), Decimal("-0.02"), Decimal("-0.48"), True),
        ("poe_2", "charge", Decimal("1.00"), Decimal("0.19"), Decimal("0.81"), True),
        ("poe_3", "deposit_fee", Decimal("-0.25"), Decimal("0"), Decimal("-0.25"), False),
    ]
    assert parsed[1].source == "pay_2"
    assert parsed[0].created == datetime(2021, 12, 14, 23, 31, 49, tzinfo=UTC)
    assert totals(parsed) == (Decimal("0.50"), Decimal("0.17"), Decimal("0.33"))


def test_square_entries_whose_net_is_not_gross_less_fee_or_lack_fields_are_named() -> None:
    broken = square_entry(2, "CHARGE", 100, 19, net=80)
    no_time = {**square_entry(3, "CHARGE", 100, 19), "effective_at": "yesterday"}
    with pytest.raises(InvalidInput) as caught:
        parse_square_payout_entries([broken, no_time, square_entry(2, "CHARGE", 1, 0)])
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("transactions[0].net_amount_money", "80 is not gross 100 less fee 19"),
        ("transactions[1].effective_at", "is missing or not the type Square documents"),
    ]


HEADER = (
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,"
    "Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,"
    "Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),"
    "Payment Method Variant,Modification Merchant Reference,Batch Number"
)
ROWS = [
    "TestCompany,SohoPOS,1813702551707653,R-2,visa,2026-11-27 11:26:49,CET,Settled,1713702551795048,EUR,,89.00,1,"
    "EUR,,87.22,,0.40,0.18,1.20,visaclassic,,42",
    "TestCompany,SohoPOS,1813702551707654,R-3,mc,2026-11-27 12:02:10,CET,Settled,1713702551795049,EUR,,50.00,1,EUR,"
    ",49.00,1.00,,,,mccredit,,42",
    "TestCompany,SohoPOS,1813702551707653,R-2,visa,2026-11-27 15:10:00,CET,Refunded,1713702551795050,EUR,89.00,,1,"
    "EUR,89.00,,,,,,visaclassic,,42",
    "TestCompany,SohoPOS,1313642467023511,324959451,visa,2026-11-27 16:37:26,CET,Chargeback,2313642467170922,EUR,"
    "34.99,,1,EUR,42.49,,7.5,,,,visaclassic,,42",
    "TestCompany,SohoPOS,,,,2026-11-28 04:55:40,CET,Fee,Transaction Fees November 2026,EUR,,,,EUR,0.50,,,,,,,,42",
    "TestCompany,SohoPOS,,,,2026-11-28 05:00:00,CET,MerchantPayout,TX3456789,EUR,,,,EUR,5.23,,,,,,,,42",
]


def test_an_adyen_settlement_details_csv_gives_settled_and_refunded_takings_and_sets_the_rest_aside() -> None:
    parsed = parse_adyen_settlement_details("\n".join([HEADER, *ROWS]) + "\n")
    assert [(t.id, t.type, t.amount, t.fee, t.net) for t in parsed] == [
        ("1713702551795048", "charge", Decimal("89.00"), Decimal("1.78"), Decimal("87.22")),
        ("1713702551795049", "charge", Decimal("50.00"), Decimal("1.00"), Decimal("49.00")),
        ("1713702551795050", "refund", Decimal("-89.00"), Decimal("0.00"), Decimal("-89.00")),
        ("Chargeback:42:2313642467170922", "chargeback", Decimal("-42.49"), Decimal("0"), Decimal("-42.49")),
        ("Fee:42:Transaction Fees November 2026", "fee", Decimal("-0.50"), Decimal("0"), Decimal("-0.50")),
        ("MerchantPayout:42:TX3456789", "merchantpayout", Decimal("-5.23"), Decimal("0"), Decimal("-5.23")),
    ]
    assert [t.is_taking for t in parsed] == [True, True, True, False, False, False]
    assert parsed[0].created == datetime(2026, 11, 27, 10, 26, 49, tzinfo=UTC), "CET is UTC+1"
    assert parsed[0].source == "1813702551707653"
    assert parsed[0].raw is not None
    assert parsed[0].raw["Merchant Reference"] == "R-2"
    assert totals(parsed) == (Decimal("50.00"), Decimal("2.78"), Decimal("47.22"))


def test_adyen_rows_as_objects_read_the_same_as_the_csv() -> None:
    names = HEADER.split(",")
    rows = [dict(zip(names, row.split(","), strict=True)) for row in ROWS]
    assert parse_processor_report("adyen", rows) == parse_adyen_settlement_details("\n".join([HEADER, *ROWS]))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("87.22", "87.20"), "transactions[0].Net Credit (NC)", "gross 89.00 less net 87.20 is 1.80, the fees say 1.78"),  # noqa: E501
        (("2026-11-27 11:26:49", "27/11/2026"), "transactions[0].Creation Date", "is not YYYY-MM-DD HH:MM:SS"),
        ((",CET,Settled", ",XYZ,Settled"), "transactions[0].TimeZone", "'XYZ' is not a time zone this reader knows"),
        (("EUR,,89.00,1,EUR", "USD,,89.00,1.1,EUR"), "transactions[0].Gross Currency", "USD settled in EUR: not a till's takings"),  # noqa: E501
        ((",0.18,", ",0.1x8,"), "transactions[0].Scheme Fees (NC)", "'0.1x8' is not a number"),
    ],
)  # fmt: skip
def test_an_adyen_row_that_does_not_add_up_names_its_column(change: tuple[str, str], field: str, message: str) -> None:
    row = ROWS[0].replace(*change)
    with pytest.raises(InvalidInput) as caught:
        parse_adyen_settlement_details("\n".join([HEADER, row]))
    assert (caught.value.errors[0].field, caught.value.errors[0].message) == (field, message)


def test_an_unknown_processor_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_processor_report("paypal", [])
    assert caught.value.errors[0].field == "processor"
