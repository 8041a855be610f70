"""A store whose card terminal is Square's, and one whose is Adyen's: the day's card takings tie out against the
processor's own report imported through ``POST /v1/finance/settlements/{store}/{day}/processor-settlement``
(Square payout entries; Adyen's Settlement details report as CSV text), on SQLite and PostgreSQL. Fees are
booked, the processor's other lines are set aside, a difference is a variance, and a re-import counts once.
The rows are written for this suite in the platforms' published shapes (see tests/unit/test_processor_reports)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.finance_world import CONFIG, DAY, configure, ok, sell
from tests.integration.order_world import assert_problem

BASE = f"/v1/finance/settlements/STORE-1/{DAY}"


def with_processor(client: TestClient, processor: str) -> None:
    configure(client)
    ok(client.put("/v1/finance/config", json={**CONFIG, "processor_tenders": {"card": processor}}), 200)


def square_entry(n: int, kind: str, gross: int, fee: int) -> dict[str, Any]:
    return {
        "id": f"poe_day_{n}",
        "payout_id": "po_day",
        "effective_at": f"{DAY}T16:00:0{n}Z",
        "type": kind,
        "gross_amount_money": {"amount": gross, "currency": "EUR"},
        "fee_amount_money": {"amount": fee, "currency": "EUR"},
        "net_amount_money": {"amount": gross - fee, "currency": "EUR"},
    }


def card(view: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in view["tenders"] if t["tender"] == "card")
    return found


def test_square_payout_entries_tie_out_the_card_takings_and_book_the_fee(client: TestClient) -> None:
    with_processor(client, "square")
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    sell(client, "R-2", "50.00", 1, [("card", "50.00")])
    entries = {
        "payout_entries": [
            square_entry(1, "CHARGE", 8900, 258),
            square_entry(2, "CHARGE", 5000, 145),
            square_entry(3, "DEPOSIT_FEE", -100, 0),
        ]
    }
    body = {"processor": "square", "tender": "card", "transactions": entries}
    view = ok(client.post(f"{BASE}/processor-settlement", json=body))
    assert card(view)["processor"] == {
        "name": "square",
        "imported": True,
        "gross": "139.00",
        "fee": "4.03",
        "net": "134.97",
        "transactions": 2,
        "variance": "0.00",
    }
    assert [s["id"] for s in view["set_aside"]] == ["poe_day_3"]
    again = ok(client.post(f"{BASE}/processor-settlement", json=body))
    assert again["imported"] == {"new": 0, "repeated": 3, "in_other_settlements": []}
    assert card(again)["processor"]["gross"] == "139.00", "a re-import counts once"
    ok(client.post(f"{BASE}/count", json={"counted": "100.00", "currency": "EUR"}))
    closed = ok(client.post(f"{BASE}/close"))
    [entry] = [e for e in closed["journal"] if e["tender"] == "card"]
    booked = {(line["account"], line["memo"]): line["debit"] for line in entry["lines"] if line["debit"] != "0.00"}
    assert booked[("6100", "square fees")] == "4.03"
    assert booked[("1010", "square net settlement")] == "134.97"


def test_an_adyen_settlement_details_report_shows_a_short_settlement_as_a_variance(client: TestClient) -> None:
    with_processor(client, "adyen")
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    sell(client, "R-2", "50.00", 1, [("card", "50.00")])
    header = (
        "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,"
        "Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,"
        "Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),"
        "Payment Method Variant,Modification Merchant Reference,Batch Number"
    )
    rows = [
        "Seamline,Soho,8815000000000001,R-1,visa,2026-11-27 10:15:00,GMT,Settled,8815000000000101,EUR,,89.00,1,EUR,"
        ",87.22,,0.40,0.18,1.20,visaclassic,,7",
        "Seamline,Soho,,,,2026-11-28 05:00:00,GMT,MerchantPayout,TX1,EUR,,,,EUR,87.22,,,,,,,,7",
    ]
    body = {"processor": "adyen", "tender": "card", "transactions": "\n".join([header, *rows]) + "\n"}
    view = ok(client.post(f"{BASE}/processor-settlement", json=body))
    processor = card(view)["processor"]
    assert (processor["name"], processor["gross"], processor["fee"], processor["variance"]) == (
        "adyen",
        "89.00",
        "1.78",
        "50.00",
    )
    [variance] = [v for v in view["variances"] if v["tender"] == "card"]
    assert (variance["kind"], variance["expected"], variance["actual"], variance["difference"]) == (
        "processor_gross",
        "139.00",
        "89.00",
        "-50.00",
    )
    assert [s["id"] for s in view["set_aside"]] == ["MerchantPayout:7:TX1"]


def test_a_report_of_another_processor_or_a_bad_row_is_refused_and_writes_nothing(client: TestClient) -> None:
    with_processor(client, "square")
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    wrong = {"processor": "adyen", "tender": "card", "transactions": "Type\nSettled\n"}
    assert_problem(client.post(f"{BASE}/processor-settlement", json=wrong), 422, "validation-error", "tender")
    broken = square_entry(1, "CHARGE", 8900, 258) | {"net_amount_money": {"amount": 1, "currency": "EUR"}}
    bad = {"processor": "square", "tender": "card", "transactions": [broken]}
    assert_problem(
        client.post(f"{BASE}/processor-settlement", json=bad),
        422,
        "validation-error",
        "transactions[0].net_amount_money",
    )
    view = ok(client.get(BASE))
    assert card(view)["processor"]["imported"] is False
