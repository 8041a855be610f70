"""``seamline reconcile`` checks finance with the ledger (issue 6): every closed sale and return has exactly
one posted document and the totals agree to the cent; a difference exits 1 and names the sale."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from seamline.cli.main import app as cli
from seamline.service import Seamline
from seamline.store.tables import finance_documents
from tests.integration.finance_world import configure, sell


@pytest.fixture
def reconcile(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SEAMLINE_DATABASE_URL", database_url)
    monkeypatch.delenv("SEAMLINE_ADMIN_TOKEN", raising=False)
    return CliRunner()


def test_reconcile_is_clean_when_every_till_sale_has_its_one_document(client: TestClient, reconcile: CliRunner) -> None:
    configure(client)
    sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    result = reconcile.invoke(cli, ["reconcile"])
    assert result.exit_code == 0, result.output
    assert "1 sales" in result.output
    assert "clean" in result.output


def test_reconcile_exits_1_when_a_posted_total_is_a_cent_off(
    client: TestClient, app: Seamline, reconcile: CliRunner
) -> None:
    configure(client)
    sale = sell(client, "R-1", "89.00", 1, [("card", "89.00")])
    with app.engine.begin() as conn:
        conn.execute(update(finance_documents).values(total="88.99"))
    result = reconcile.invoke(cli, ["reconcile"])
    assert result.exit_code == 1, result.output
    assert f"finance order:{sale['id']}: amount sales_receipt" in result.output
    as_json = reconcile.invoke(cli, ["reconcile", "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert [(d["problem"], d["expected_total"], d["posted_total"]) for d in report["finance"]["differences"]] == [
        ("amount", "89.00", "88.99")
    ]
