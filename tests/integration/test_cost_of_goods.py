"""Cost of goods (issue 17) on both databases: receipts at cost make a moving average per SKU and location, a
shipment and a till sale book COGS at it, a sellable return reverses it at the cost the sale went out at,
valuation as of a date is the sum of the movements at cost by then, and reconcile's inventory leg
(valuation = movements at cost = the inventory account) is clean, and fails naming what was corrupted."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.sandbox.xero import XeroSandbox
from seamline.service import Seamline
from seamline.service.finance import FinanceDesk
from seamline.store.tables import finance_documents, journal_entries, journal_lines, movements
from tests.integration.helpers import assert_problem, snapshot
from tests.integration.order_world import SKU, fulfil, place, sale_body, seed_channels
from tests.integration.test_xero_connector import books_for

INVENTORY, COGS, GOODS_RECEIVED = "1300", "5000", "2120"


def receive_at(client: TestClient, qty: int, unit_cost: str | None, to: str = "WH", sku: str = SKU) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "receipt", "sku": sku, "qty": qty, "to": to}
    if unit_cost is not None:
        body["unit_cost"] = unit_cost
    response = client.post("/v1/movements", json=body)
    assert response.status_code == 201, response.text
    moved: dict[str, Any] = response.json()
    return moved


def cost_row(client: TestClient, location: str, sku: str = SKU) -> dict[str, Any]:
    response = client.get("/v1/finance/stock-costs", params={"sku": sku, "location": location})
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    found: dict[str, Any] = row
    return found


def cost_journals(app: Seamline) -> dict[str, dict[str, Decimal]]:
    """Each cost journal's source → account → signed amount (debits positive)."""
    out: dict[str, dict[str, Decimal]] = {}
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(
                finance_documents.c.source_key, journal_lines.c.account, journal_lines.c.debit, journal_lines.c.credit
            )
            .join(journal_entries, journal_entries.c.document_id == finance_documents.c.id)
            .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
            .where(finance_documents.c.source_key.like("cost:%"))
        )
        for source, account, debit, credit in rows:
            by_account = out.setdefault(source, {})
            amount = Decimal(str(debit)) - Decimal(str(credit))
            by_account[account] = (by_account.get(account, Decimal(0)) + amount).quantize(Decimal("0.01"))
    return out


def inventory_leg(app: Seamline) -> dict[str, Any]:
    report = FinanceDesk(app).reconciliation()
    leg: dict[str, Any] = report["inventory"]
    assert report["clean"] == (report["clean"] and leg["clean"])
    return leg


def test_receipts_at_two_costs_make_the_weighted_average_and_each_is_booked_against_goods_received(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    first = receive_at(client, 10, "10.00")
    second = receive_at(client, 30, "14.00")
    assert (first["unit_cost"], first["cost_value"], first["cost_source"]) == ("10.0000", "100.0000", "receipt")
    assert (second["unit_cost"], second["cost_value"]) == ("14.0000", "420.0000")
    row = cost_row(client, "WH")
    assert (row["units"], row["unit_cost"], row["value"]) == (40, "13.0000", "520.00")
    booked = cost_journals(app)
    assert sorted(booked.values(), key=lambda b: b[INVENTORY]) == [
        {INVENTORY: Decimal("100.00"), GOODS_RECEIVED: Decimal("-100.00")},
        {INVENTORY: Decimal("420.00"), GOODS_RECEIVED: Decimal("-420.00")},
    ]
    leg = inventory_leg(app)
    assert leg["clean"], {k: v for k, v in leg.items() if k != "uncosted"}
    assert (leg["valuation"], leg["account_balance"]) == ("520.00", "520.00")


def test_a_shipment_books_cogs_at_the_average_and_a_return_reverses_it_at_the_cost_it_went_out_at(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 10, "10.00")
    receive_at(client, 30, "14.00")  # average 13.00
    order = place(client, lines=[{"sku": SKU, "qty": 4, "unit_price": "89.00"}])
    client.post(f"/v1/orders/{order['id']}/pick")
    leg = inventory_leg(app)
    assert leg["awaiting_shipment"] == "52.00"  # picked, not shipped: not COGS yet
    assert leg["clean"], leg
    fulfil_rest(client, order["id"])
    booked = cost_journals(app)
    [shipment] = [v for k, v in booked.items() if k.startswith(f"cost:shipment:{order['id']}:")]
    assert shipment == {INVENTORY: Decimal("-52.00"), COGS: Decimal("52.00")}
    # The average moves after the sale; the return comes back at 13.00, the cost the sale went out at.
    receive_at(client, 4, "20.00")  # (36 * 13 + 4 * 20) / 40 = 13.70
    assert cost_row(client, "WH")["unit_cost"] == "13.7000"
    response = client.post(
        "/v1/returns",
        json={"order_id": order["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "sellable"}]},
    )
    assert response.status_code == 201, response.text
    booked = cost_journals(app)
    assert booked[f"cost:return:{response.json()['id']}"] == {INVENTORY: Decimal("13.00"), COGS: Decimal("-13.00")}
    row = cost_row(client, "WH")
    assert (row["units"], row["value"]) == (41, "561.00")  # 40 - 4 + 4 + 1 units; 520 - 52 + 80 + 13
    # A damaged unit back is not inventory: no reversal.
    response = client.post(
        "/v1/returns",
        json={"order_id": order["id"], "location": "WH", "lines": [{"sku": SKU, "qty": 1, "condition": "damaged"}]},
    )
    assert response.status_code == 201, response.text
    assert f"cost:return:{response.json()['id']}" not in cost_journals(app)
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["valuation"] == leg["account_balance"] == "561.00"


def test_an_order_picked_again_after_a_partial_shipment_awaits_its_next_shipment_without_a_difference(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 10, "10.00")
    order = place(client, lines=[{"sku": SKU, "qty": 4, "unit_price": "89.00"}])
    assert client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 1}]}).status_code == 200
    fulfil_rest(client, order["id"])
    assert client.post(f"/v1/orders/{order['id']}/pick", json={"lines": [{"sku": SKU, "qty": 3}]}).status_code == 200
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert (leg["valuation"], leg["awaiting_shipment"], leg["account_balance"]) == ("60.00", "30.00", "90.00")
    fulfil_rest(client, order["id"])
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert (leg["awaiting_shipment"], leg["account_balance"]) == ("0.00", "60.00")
    booked = sorted(v[COGS] for k, v in cost_journals(app).items() if k.startswith(f"cost:shipment:{order['id']}:"))
    assert booked == [Decimal("10.00"), Decimal("30.00")]


def fulfil_rest(client: TestClient, order_id: str) -> None:
    assert client.post(f"/v1/orders/{order_id}/pack").status_code == 200
    response = client.post(f"/v1/orders/{order_id}/ship", json={"tracking": "1Z1"})
    assert response.status_code == 200, response.text


def test_a_document_received_in_two_transactions_books_each_part_once(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    for qty, cost in ((3, "10.00"), (2, "11.00")):
        body = {"kind": "receipt", "sku": SKU, "qty": qty, "to": "WH", "unit_cost": cost, "document": "asn-7"}
        assert client.post("/v1/movements", json=body).status_code == 201
    parts = sorted(v[INVENTORY] for k, v in cost_journals(app).items() if k.startswith("cost:receipt:asn-7:"))
    assert parts == [Decimal("22.00"), Decimal("30.00")]
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["account_balance"] == "52.00"


def test_a_till_sale_books_its_cogs_in_the_sales_transaction(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive_at(client, 3, "7.3333", to="STORE-1")  # 21.9999 -> 22.00 at cost
    response = client.post(
        "/v1/sales",
        json=sale_body(
            lines=[{"sku": SKU, "qty": 3, "unit_price": "89.00"}], tenders=[{"type": "card", "amount": "267.00"}]
        ),
    )
    assert response.status_code == 201, response.text
    [sale] = [v for k, v in cost_journals(app).items() if k.startswith(f"cost:sale:{response.json()['id']}:")]
    # The sale empties the row: it takes the exact value left, no rounding residue stays at cost.
    assert sale == {INVENTORY: Decimal("-22.00"), COGS: Decimal("22.00")}
    row = cost_row(client, "STORE-1")
    assert (row["units"], row["value"]) == (0, "0.00")
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["valuation"] == "0.00"


def test_a_transfer_moves_value_at_the_source_average_and_a_count_loss_is_shrinkage(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 10, "12.00")
    response = client.post("/v1/transfers", json={"from": "WH", "to": "STORE-2", "lines": [{"sku": SKU, "qty": 4}]})
    assert response.status_code == 201, response.text
    transfer = response.json()["id"]
    assert client.post(f"/v1/transfers/{transfer}/ship").status_code == 200
    assert client.post(f"/v1/transfers/{transfer}/receive", json={"lines": [{"sku": SKU, "qty": 4}]}).status_code == 200
    assert cost_row(client, "STORE-2")["value"] == "48.00"
    assert cost_row(client, "WH")["value"] == "72.00"
    response = client.post(
        "/v1/movements", json={"kind": "adjustment", "sku": SKU, "qty": 1, "from": "WH", "reason": "lost"}
    )
    assert response.status_code == 201, response.text
    [loss] = [v for k, v in cost_journals(app).items() if k.startswith("cost:adjustment:")]
    assert loss == {INVENTORY: Decimal("-12.00"), "5100": Decimal("12.00")}
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["valuation"] == "108.00"


def test_valuation_as_of_a_past_date_leaves_out_later_movements(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    seed_channels(client)
    receive_at(client, 10, "10.00")
    receive_at(client, 5, "8.00", to="STORE-1")
    day_one = clock.now().date().isoformat()
    clock.advance(2 * 86400)
    receive_at(client, 10, "16.00")
    then = client.get("/v1/finance/valuation", params={"as_of": day_one}).json()
    assert (then["total"], then["units"]) == ("140.00", 15)
    assert {r["location"]: r["value"] for r in then["locations"]} == {"STORE-1": "40.00", "WH": "100.00"}
    now = client.get("/v1/finance/valuation").json()
    assert (now["total"], now["units"]) == ("300.00", 25)
    one = client.get("/v1/finance/valuation", params={"location": "WH", "by_sku": "true"}).json()
    assert one["items"] == [{"location": "WH", "sku": SKU, "units": 20, "value": "260.00", "uncosted_units": 0}]
    assert client.get("/v1/finance/valuation", params={"as_of": "yesterday"}).status_code == 422


def test_a_receipt_without_any_cost_is_flagged_and_the_catalog_standard_cost_is_used_when_set(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    moved = receive_at(client, 2, None)
    assert (moved["cost_source"], moved["cost_value"]) == ("missing", "0.0000")
    valuation = client.get("/v1/finance/valuation").json()
    assert valuation["uncosted_units"] == 2
    assert inventory_leg(app)["uncosted_movements"] == 1
    response = client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "9.50"})
    assert response.status_code == 200, response.text
    moved = receive_at(client, 2, None)
    assert (moved["cost_source"], moved["cost_value"]) == ("catalog", "19.0000")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"unit_cost": "-1.00"}, "unit_cost"),
        ({"unit_cost": "abc"}, "unit_cost"),
        ({"unit_cost": "1.00001"}, "unit_cost"),
        ({"unit_cost": "NaN"}, "unit_cost"),
        ({"unit_cost": "5.00", "currency": "USD"}, "currency"),
    ],
)
def test_a_bad_unit_cost_is_a_problem_and_nothing_is_written(
    client: TestClient, app: Seamline, extra: dict[str, str], field: str
) -> None:
    seed_channels(client)
    before = snapshot(client, app)
    response = client.post("/v1/movements", json={"kind": "receipt", "sku": SKU, "qty": 1, "to": "WH", **extra})
    assert_problem(response, 422, "validation-error", field)
    assert snapshot(client, app) == before
    assert client.get("/v1/finance/valuation").json()["total"] == "0.00"


def test_a_unit_cost_on_a_movement_that_is_not_a_receipt_is_refused(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive_at(client, 2, "5.00")
    before = snapshot(client, app)
    response = client.post(
        "/v1/movements",
        json={"kind": "adjustment", "sku": SKU, "qty": 1, "to": "WH", "reason": "found", "unit_cost": "1.00"},
    )
    assert_problem(response, 422, "validation-error", "unit_cost")
    assert snapshot(client, app) == before


def test_reconcile_names_a_corrupted_posting_and_a_corrupted_movement_cost(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive_at(client, 10, "10.00")
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    fulfil(client, order["id"])
    assert inventory_leg(app)["clean"]
    # One posting: the shipment's credit to inventory is edited (and its COGS line, so the entry balances).
    with app.engine.begin() as conn:
        entry = conn.execute(
            select(journal_entries.c.id)
            .join(finance_documents, finance_documents.c.id == journal_entries.c.document_id)
            .where(finance_documents.c.source_key.like(f"cost:shipment:{order['id']}:%"))
        ).scalar_one()
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry, journal_lines.c.account == INVENTORY)
            .values(credit=Decimal("21.00"))
        )
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry, journal_lines.c.account == COGS)
            .values(debit=Decimal("21.00"))
        )
    leg = inventory_leg(app)
    assert not leg["clean"]
    assert leg["posting_differences"] == [
        {"source": f"cost:shipment:{order['id']}", "movements": "-20.00", "journal": "-21.00"}
    ]
    assert not leg["totals_agree"]
    # One movement's cost: the receipt's value is edited; its row and its receipt entry disagree with it.
    with app.engine.begin() as conn:
        conn.execute(update(movements).where(movements.c.kind == "receipt").values(cost_value=Decimal("90")))
    leg = inventory_leg(app)
    assert {"sku": SKU, "location": "WH", "stored": "80.00", "movements": "70.00"} in leg["cost_row_differences"]
    assert any(p["movements"] == "90.00" and p["journal"] == "100.00" for p in leg["posting_differences"])
    assert not FinanceDesk(app).reconciliation()["clean"]


# ------------------------------------------------------------------------------------------------ the CLI
@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_a_stock_import_receives_at_each_rows_cost_and_the_cli_values_it_as_the_api_does(
    client: TestClient, app: Seamline, runner: CliRunner, tmp_path: Path
) -> None:
    seed_channels(client)
    sheet = tmp_path / "opening.csv"
    sheet.write_text(f"sku,qty,unit_cost\n{SKU},10,11.50\nOVS-001-NVY-L,4,\n")
    client.put("/v1/finance/standard-costs/OVS-001-NVY-L", json={"unit_cost": "9.00", "currency": "EUR"})
    result = runner.invoke(cli, ["import", "stock", str(sheet), "--location", "WH", "--document", "opening-1"])
    assert result.exit_code == 0, result.output
    assert cost_row(client, "WH")["value"] == "115.00"
    assert cost_row(client, "WH", "OVS-001-NVY-L")["value"] == "36.00"
    again = runner.invoke(cli, ["import", "stock", str(sheet), "--location", "WH", "--document", "opening-1"])
    assert again.exit_code == 0, again.output
    assert "already received" in again.output
    [receipt] = [v for k, v in cost_journals(app).items() if k.startswith("cost:receipt:opening-1:")]
    assert receipt == {INVENTORY: Decimal("151.00"), GOODS_RECEIVED: Decimal("-151.00")}
    shown = runner.invoke(cli, ["finance", "valuation", "--json", "--by-sku"])
    assert shown.exit_code == 0, shown.output
    answer = json.loads(shown.output)
    api = client.get("/v1/finance/valuation", params={"by_sku": "true"}).json()
    assert answer["total"] == api["total"] == "151.00"
    assert answer["items"] == api["items"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"sku,qty,unit_cost\n{SKU},1,-2\n{SKU},1,1.00001\n")
    refused = runner.invoke(cli, ["import", "stock", str(bad), "--location", "WH", "--document", "bad-1"])
    assert refused.exit_code == 1
    said = " ".join(refused.output.split())
    assert "row 2: unit_cost '-2' must not be negative" in said
    assert "row 3: unit_cost '1.00001' has more than 4 decimals" in said  # the API's rule, as the API says it
    assert cost_row(client, "WH")["units"] == 10, "nothing of the refused sheet was received"


def test_seamline_reconcile_exits_1_naming_the_corrupted_cost_posting(
    client: TestClient, app: Seamline, runner: CliRunner
) -> None:
    seed_channels(client)
    receive_at(client, 5, "10.00", to="STORE-1")
    response = client.post("/v1/sales", json=sale_body())
    assert response.status_code == 201, response.text
    clean = runner.invoke(cli, ["reconcile"])
    assert clean.exit_code == 0, clean.output
    with app.engine.begin() as conn:
        source, entry = conn.execute(
            select(finance_documents.c.source_key, journal_entries.c.id)
            .join(finance_documents, finance_documents.c.id == journal_entries.c.document_id)
            .where(finance_documents.c.source_key.like(f"cost:sale:{response.json()['id']}:%"))
        ).one()
        conn.execute(
            update(journal_lines)
            .where(journal_lines.c.entry_id == entry, journal_lines.c.account == INVENTORY)
            .values(credit=Decimal("1.00"))
        )
    result = runner.invoke(cli, ["reconcile"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert f"inventory {source}: movements moved -10.00 EUR at cost, the journal booked -1.00" in said


def test_a_styles_variant_carries_its_standard_cost_and_a_bad_one_writes_nothing(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    style = client.get("/v1/styles/OVS-001").json()
    body = {k: style[k] for k in ("name", "season", "size_scale", "colours", "prices")}
    body["variants"] = [{k: v[k] for k in ("sku", "colour", "size", "gtin")} for v in style["variants"]]
    for variant in body["variants"]:
        if variant["sku"] == SKU:
            variant["cost"] = "-3"
    response = client.put("/v1/styles/OVS-001", json=body)
    assert_problem(response, 422, "validation-error", "variants[1].cost")
    assert client.get("/v1/styles/OVS-001").json()["version"] == style["version"]
    for variant in body["variants"]:
        if variant["sku"] == SKU:
            variant["cost"] = "8.25"
    response = client.put("/v1/styles/OVS-001", json=body)
    assert response.status_code == 200, response.text
    moved = receive_at(client, 4, None)
    assert (moved["cost_source"], moved["unit_cost"], moved["cost_value"]) == ("catalog", "8.2500", "33.0000")


def test_valuation_is_read_scoped_like_the_other_finance_reads(client: TestClient) -> None:
    seed_channels(client)
    response = client.post("/v1/tokens", json={"name": "a till", "scopes": ["location:STORE-1"]})
    assert response.status_code == 201, response.text
    till = TestClient(client.app, headers={"Authorization": f"Bearer {response.json()['token']}"})
    assert_problem(till.get("/v1/finance/valuation"), 403, "insufficient-scope")
    assert_problem(till.get("/v1/finance/stock-costs"), 403, "insufficient-scope")
    assert client.get("/v1/finance/valuation").status_code == 200


def test_a_cost_journal_that_never_posted_is_named_and_then_booked_by_post_missing_costs(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 6, "10.00")
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    fulfil(client, order["id"])
    with app.engine.begin() as conn:  # as if both postings had failed in their transactions
        docs = select(finance_documents.c.id).where(finance_documents.c.source_key.like("cost:%"))
        entries = select(journal_entries.c.id).where(journal_entries.c.document_id.in_(docs))
        conn.execute(journal_lines.delete().where(journal_lines.c.entry_id.in_(entries)))
        conn.execute(journal_entries.delete().where(journal_entries.c.document_id.in_(docs)))
        conn.execute(finance_documents.delete().where(finance_documents.c.source_key.like("cost:%")))
    leg = inventory_leg(app)
    assert not leg["clean"]
    assert {p["source"] for p in leg["posting_differences"]} >= {f"cost:shipment:{order['id']}"}
    assert sorted(p["journal"] for p in leg["posting_differences"]) == ["0.00", "0.00"]
    response = client.post("/v1/finance/post-missing-costs", json={})
    assert response.status_code == 200, response.text
    assert response.json()["posted"] == 2
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["account_balance"] == "40.00"
    assert client.post("/v1/finance/post-missing-costs", json={}).json()["posted"] == 0


def test_cost_journals_are_exported_to_xero_as_manual_journals_with_their_export_state(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    books = books_for(app, clock, XeroSandbox())
    try:
        seed_channels(client)
        receive_at(client, 4, "12.50", to="STORE-1")
        response = client.post("/v1/sales", json=sale_body())
        assert response.status_code == 201, response.text
        books.deliver()
        journals = {j["Narration"].split(":")[0]: j for j in books.sandbox.manual_journals.values()}
        with app.engine.connect() as conn:
            numbers = dict(
                conn.execute(
                    select(finance_documents.c.source_key, finance_documents.c.number).where(
                        finance_documents.c.source_key.like("cost:%")
                    )
                ).all()
            )
        [sale_number] = [n for k, n in numbers.items() if k.startswith("cost:sale:")]
        lines = {
            line["AccountCode"]: Decimal(str(line["LineAmount"])) for line in journals[sale_number]["JournalLines"]
        }
        assert lines == {INVENTORY: Decimal("-12.50"), COGS: Decimal("12.50")}
        assert set(numbers.values()) <= set(journals)  # the receipt's journal too
        items, _, _ = FinanceDesk(app).exports("xero:books", kind="journal")
        assert {i["number"] for i in items} == set(numbers.values())
        assert {i["status"] for i in items} == {"exported"}
    finally:
        books.integration.uninstall()
