"""Units received at no cost are revalued once their cost is known (issue 17) on both databases: a standard
cost set later, or a receipt at cost into the same location, values the units still held at nothing with a
revaluation a person can read (``GET /v1/finance/revaluations``) and its own journal (inventory against the
cost revaluation account); valuation as of before and after is right, the valuation lists the units at
nothing until then, and reconcile's inventory leg stays clean."""

from __future__ import annotations

import csv
import json
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seamline.cli.catalog_import import import_catalog
from seamline.cli.main import app as cli
from seamline.domain.clock import FixedClock
from seamline.ledger import MovementRequest
from seamline.service import Seamline
from seamline.service.cost_catchup import CostCatchUp
from seamline.service.costing import Costing
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import cost_repo
from tests.integration.order_world import SKU, fulfil, place, seed_channels
from tests.integration.test_cost_catchup import fail_cost_postings
from tests.integration.test_cost_of_goods import (
    COGS,
    GOODS_RECEIVED,
    INVENTORY,
    cost_journals,
    cost_row,
    inventory_leg,
    receive_at,
)
from tests.integration.test_dashboard_pages import log_in

REVALUATION = "5150"


def revaluations(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/v1/finance/revaluations", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def valuation(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/v1/finance/valuation", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_standard_cost_set_later_revalues_the_units_received_at_nothing(
    client: TestClient, app: Seamline, clock: FixedClock
) -> None:
    seed_channels(client)
    moved = receive_at(client, 6, None)
    assert moved["cost_source"] == "missing"
    day_one = clock.now().date().isoformat()
    before = valuation(client)
    assert (before["total"], before["units"], before["uncosted_units"]) == ("0.00", 6, 6)
    assert inventory_leg(app)["uncosted_units"] == 6
    clock.advance(2 * 86400)
    response = client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "12.50"})
    assert response.status_code == 200, response.text
    assert response.json()["revalued_locations"] == 1

    [revalued] = revaluations(client)
    assert {k: revalued[k] for k in ("sku", "location", "units", "old_unit_cost", "new_unit_cost", "amount")} == {
        "sku": SKU,
        "location": "WH",
        "units": 6,
        "old_unit_cost": "0.0000",
        "new_unit_cost": "12.5000",
        "amount": "75.00",
    }
    assert revalued["reason"] == "standard cost set"
    assert cost_journals(app)[revalued["journal_source"]] == {
        INVENTORY: Decimal("75.00"),
        REVALUATION: Decimal("-75.00"),
    }
    assert (cost_row(client, "WH")["unit_cost"], cost_row(client, "WH")["value"]) == ("12.5000", "75.00")
    then = valuation(client, as_of=day_one)
    assert (then["total"], then["units"], then["uncosted_units"]) == ("0.00", 6, 6)
    now = valuation(client)
    assert (now["total"], now["units"], now["uncosted_units"]) == ("75.00", 6, 0)
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert (leg["account_balance"], leg["uncosted_units"]) == ("75.00", 0)
    # What leaves afterwards leaves at the cost now known.
    order = place(client, lines=[{"sku": SKU, "qty": 2, "unit_price": "89.00"}])
    fulfil(client, order["id"])
    [shipment] = [v for k, v in cost_journals(app).items() if k.startswith("cost:shipment:")]
    assert shipment == {INVENTORY: Decimal("-25.00"), COGS: Decimal("25.00")}
    assert inventory_leg(app)["clean"]
    # Setting the same cost again revalues nothing more.
    assert client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "12.50"}).status_code == 200
    assert client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "13.00"}).status_code == 200
    assert len(revaluations(client)) == 1


def test_a_receipt_at_cost_revalues_the_units_still_held_at_nothing_in_that_location_first(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 4, None)
    receive_at(client, 3, None, to="STORE-1")
    order = place(client, lines=[{"sku": SKU, "qty": 1, "unit_price": "89.00"}])
    fulfil(client, order["id"])  # one of the four leaves WH at nothing
    assert valuation(client, location="WH")["uncosted_units"] == 3
    moved = receive_at(client, 6, "10.00")
    assert (moved["cost_source"], moved["cost_value"]) == ("receipt", "60.0000")

    [revalued] = revaluations(client)
    assert (revalued["location"], revalued["units"], revalued["new_unit_cost"], revalued["amount"]) == (
        "WH",
        3,
        "10.0000",
        "30.00",
    )
    assert revalued["reason"].startswith("receipt ")
    assert revalued["reason"].endswith(" at its unit cost")
    row = cost_row(client, "WH")
    assert (row["units"], row["unit_cost"], row["value"]) == (9, "10.0000", "90.00")
    journals = cost_journals(app)
    assert journals[revalued["journal_source"]] == {INVENTORY: Decimal("30.00"), REVALUATION: Decimal("-30.00")}
    [receipt] = [v for k, v in journals.items() if k.startswith("cost:receipt:") and v[INVENTORY] == Decimal("60.00")]
    assert receipt == {INVENTORY: Decimal("60.00"), GOODS_RECEIVED: Decimal("-60.00")}
    # STORE-1's units stay at nothing, listed, until their own cost is known.
    assert revaluations(client, location="STORE-1") == []
    by_location = {r["location"]: r for r in valuation(client)["locations"]}
    assert (by_location["WH"]["uncosted_units"], by_location["STORE-1"]["uncosted_units"]) == (0, 3)
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["uncosted_units"] == 3


def test_units_received_at_an_explicit_cost_of_0_are_not_revalued(client: TestClient, app: Seamline) -> None:
    seed_channels(client)
    receive_at(client, 2, "0")  # free goods: their cost is known, and it is 0
    assert valuation(client)["uncosted_units"] == 0
    receive_at(client, 2, "10.00")
    assert revaluations(client) == []
    assert cost_row(client, "WH")["value"] == "20.00"
    assert inventory_leg(app)["clean"]


def test_a_bulk_receipt_revalues_its_own_earlier_lines_and_the_stock_import_path_agrees(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    result = app.write(
        lambda uow: app.receive_stock(uow, "WH", [(SKU, 3, None), (SKU, 2, Decimal("8.00"))], document="DEL-1")
    )
    assert result["units"] == 5
    [revalued] = revaluations(client)
    assert (revalued["units"], revalued["amount"]) == (3, "24.00")
    assert cost_row(client, "WH")["value"] == "40.00"
    assert valuation(client)["uncosted_units"] == 0
    leg = inventory_leg(app)
    assert leg["clean"], leg
    assert leg["account_balance"] == "40.00"


def test_a_revaluation_whose_journal_failed_is_booked_by_the_catch_up(
    client: TestClient, app: Seamline, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_channels(client)
    receive_at(client, 5, None)
    with monkeypatch.context() as patched:
        fail_cost_postings(patched)
        response = client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "3.00"})
        assert response.status_code == 200, response.text
    [revalued] = revaluations(client)
    leg = inventory_leg(app)
    assert [(p["source"], p["movements"], p["journal"]) for p in leg["posting_differences"]] == [
        (revalued["journal_source"], "15.00", "0.00")
    ]
    assert CostCatchUp(app, every=600).run_once() == 1
    assert cost_journals(app)[revalued["journal_source"]] == {
        INVENTORY: Decimal("15.00"),
        REVALUATION: Decimal("-15.00"),
    }
    assert inventory_leg(app)["clean"]


def test_revaluations_are_read_scoped_like_the_other_finance_reads(client: TestClient) -> None:
    seed_channels(client)
    response = client.post("/v1/tokens", json={"name": "a till", "scopes": ["location:STORE-1"]})
    assert response.status_code == 201, response.text
    till = TestClient(client.app, headers={"Authorization": f"Bearer {response.json()['token']}"})
    assert till.get("/v1/finance/revaluations").status_code == 403


def test_units_at_nothing_under_a_standard_cost_are_revalued_by_the_catch_up(client: TestClient, app: Seamline) -> None:
    """A receipt that read no standard cost while one was being set (in another transaction, which had already
    looked for units to revalue) leaves units at nothing under a standard cost: the catch-up revalues them."""
    seed_channels(client)
    receive_at(client, 4, None)
    with app.engine.begin() as conn:  # the standard cost committed, its revaluation missed these units
        cost_repo.save_standard_costs(conn, {SKU: Decimal("2.50")}, "EUR", app.clock.now())
    assert valuation(client)["uncosted_units"] == 4
    CostCatchUp(app, every=600).run_once()
    [revalued] = revaluations(client)
    assert (revalued["units"], revalued["amount"], revalued["reason"]) == (4, "10.00", "standard cost set")
    assert valuation(client)["uncosted_units"] == 0
    assert inventory_leg(app)["clean"]
    CostCatchUp(app, every=600).run_once()
    assert len(revaluations(client)) == 1


def test_a_catalog_csv_with_costs_revalues_stock_received_before_them(
    client: TestClient, app: Seamline, tmp_path: Path
) -> None:
    seed_channels(client)
    receive_at(client, 3, None)
    style = client.get("/v1/styles/OVS-001").json()
    path = tmp_path / "costs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["style_code", "style_name", "size_scale", "colour_code", "size", "sku", "gtin", "cost"])
        for variant in style["variants"]:
            writer.writerow(
                [
                    "OVS-001",
                    style["name"],
                    "|".join(style["size_scale"]),
                    variant["colour"],
                    variant["size"],
                    variant["sku"],
                    variant["gtin"] or "",
                    "7.00" if variant["sku"] == SKU else "",
                ]
            )
    result = import_catalog(app, path)
    assert (result.errors, result.costs_set) == ([], 1)
    [revalued] = revaluations(client)
    assert (revalued["sku"], revalued["units"], revalued["amount"]) == (SKU, 3, "21.00")
    assert inventory_leg(app)["clean"]


def race(app: Seamline, sku: str, location: str) -> list[BaseException]:
    """A standard cost of 4.00 and a receipt of 5 at 6.00 into (sku, location), released together."""
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []
    costing = Costing(app)
    receipt = MovementRequest("receipt", sku, 5, to_location=location, unit_cost=Decimal("6.00"))

    def run(work: Callable[[UnitOfWork], object]) -> None:
        barrier.wait()
        try:
            app.write(work)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda uow: costing.set_standard_cost(uow, sku, {"unit_cost": "4.00"}),)),
        threading.Thread(target=run, args=(lambda uow: app.record_movement(uow, receipt),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_a_standard_cost_racing_a_receipt_at_cost_revalues_the_units_at_nothing_once(
    client: TestClient, app: Seamline
) -> None:
    """Real threads, each its own transaction: a standard cost set and a receipt at cost into a row of units
    at nothing. Whichever commits first revalues them; the other finds the row costed. Never twice, never
    lost, and reconcile stays clean."""
    seed_channels(client)
    for n, variant in enumerate(client.get("/v1/styles/OVS-001").json()["variants"]):
        sku, location = variant["sku"], ("WH", "STORE-1")[n % 2]
        receive_at(client, 5, None, to=location, sku=sku)
        assert race(app, sku, location) == []
        [revalued] = revaluations(client, sku=sku, location=location)
        assert revalued["units"] == 5
        assert (revalued["new_unit_cost"], revalued["amount"]) in {("4.0000", "20.00"), ("6.0000", "30.00")}
        assert valuation(client)["uncosted_units"] == 0
    leg = inventory_leg(app)
    assert leg["clean"], leg


def test_the_exceptions_page_shows_stock_waiting_for_a_cost_and_the_revaluations(
    client: TestClient, app: Seamline
) -> None:
    seed_channels(client)
    receive_at(client, 4, None)
    receive_at(client, 2, None, to="STORE-1")
    page = log_in(client).get("/exceptions").text
    section = page[page.index('data-testid="stock-at-cost"') :]
    section = section[: section.index("</section>")]
    assert "6 units at no cost" in section
    assert re.search(rf'data-uncosted="{SKU}@WH">.*?<td class="num">4</td>', section, re.S)
    assert "No revaluations." in section
    app.write(lambda uow: Costing(app).set_standard_cost(uow, SKU, {"unit_cost": "2.00"}))  # the page's session
    page = client.get("/exceptions").text
    section = page[page.index('data-testid="stock-at-cost"') :]
    section = section[: section.index("</section>")]
    assert "every unit has a cost" in section
    assert f'data-revaluation="{SKU}@WH"' in section
    assert "8.00 EUR" in section  # 4 x 2.00 at WH
    assert "4.00 EUR" in section  # 2 x 2.00 at STORE-1


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_seamline_finance_revaluations_lists_what_the_api_lists(
    client: TestClient, app: Seamline, runner: CliRunner
) -> None:
    seed_channels(client)
    receive_at(client, 2, None)
    assert client.put("/v1/finance/standard-costs/" + SKU, json={"unit_cost": "5.00"}).status_code == 200
    shown = runner.invoke(cli, ["finance", "revaluations", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["items"] == revaluations(client)
    table = runner.invoke(cli, ["finance", "revaluations", "--sku", SKU])
    assert table.exit_code == 0, table.output
    assert "5.0000" in table.output  # the new unit cost (the console is as narrow as the terminal: cells wrap)
