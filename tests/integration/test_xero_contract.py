"""Xero contract tests on ``tests/fixtures/accounting`` (the xero-python SDK's documented request bodies):
the sandbox accepts every fixture as it stands, and what our mapper sends has each fixture's shape (the same
keys, with the same JSON types), so what passes here passes at Xero."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from seamline.channels.xero import mapper
from seamline.finance import Document, DocumentKind, FinanceConfig, Posting, PricedLine, TaxCode, priced_lines
from seamline.sandbox.xero import FIXTURE_CONTACT, XeroSandbox
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "accounting"
D = Decimal
VAT = TaxCode("VAT20", D("0.20"), "VAT 20%", "OUTPUT2", "5")
CONFIG = FinanceConfig(tax_codes={"VAT20": VAT}, default_tax_code="VAT20")
DAY = date(2026, 11, 27)
CONTACTS = {"web": FIXTURE_CONTACT}  # the web channel mapped to a Xero contact, as the fixtures name one


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"xero_{name}_body.json").read_text())


def xero() -> tuple[XeroSandbox, httpx.Client]:
    sandbox = XeroSandbox()
    client = httpx.Client(
        base_url="http://xero.test/api.xro/2.0",
        transport=sandbox.transport(),
        headers={"Authorization": f"Bearer {sandbox.config.access_token}", "xero-tenant-id": sandbox.config.tenant_id},
    )
    return sandbox, client


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(documented: Any, ours: Any, where: str = "") -> None:
    """Every key the documented body has, ours has too, holding the same JSON type (recursively)."""
    if isinstance(documented, dict):
        assert isinstance(ours, dict), where
        for key, value in documented.items():
            assert key in ours, f"{where}.{key} is missing"
            assert_same_shape(value, ours[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(ours, list), where
        if documented and ours:
            for item in ours:
                assert_same_shape(documented[0], item, f"{where}[]")
    else:
        assert kind(documented) == kind(ours), f"{where}: {documented!r} vs {ours!r}"


def sale_lines() -> Any:
    return priced_lines(
        [
            PricedLine("OVS-001-NVY-M", "Navy overshirt NVY M", 2, D("80.00"), VAT, D("89.00"), 1),
            PricedLine("OVS-001-NVY-L", "Navy overshirt NVY L", 1, D("89.00"), VAT, D("89.00"), 2),
        ],
        "EUR",
    )


def doc(kind_: DocumentKind, **kw: Any) -> Document:
    base: dict[str, Any] = {
        "id": f"doc_{kind_.value}",
        "kind": kind_,
        "currency": "EUR",
        "issued_on": DAY,
        "posting": Posting.JOURNAL,
        "total": D("249.00"),
        "number": "INV-00000001",
        "channel": "web",
        "order_ref": "#1001",
    }
    return Document(**{**base, **kw})


@pytest.mark.parametrize(
    ("name", "path", "seed"),
    [
        ("create_invoices", "/Invoices", None),
        ("create_credit_notes", "/CreditNotes", None),
        ("create_payments", "/Payments", "00000000-0000-0000-0000-000000000000"),
        ("create_manual_journals", "/ManualJournals", None),
    ],
)
def test_the_sandbox_accepts_each_documented_request_body(name: str, path: str, seed: str | None) -> None:
    sandbox, client = xero()
    sandbox.add_contact("Fixture contact", FIXTURE_CONTACT)
    if seed:
        sandbox.add_invoice(seed, D("10.00"))
    response = client.put(path, json=fixture(name))
    assert response.status_code == 200, response.text
    collection = path.strip("/")
    assert len(response.json()[collection]) == 1


def test_the_sandbox_accepts_the_documented_credit_note_allocation() -> None:
    sandbox, client = xero()
    sandbox.add_contact("Fixture contact", FIXTURE_CONTACT)
    allocation = fixture("create_credit_note_allocation")
    invoice_id = allocation["Allocations"][0]["Invoice"]["InvoiceID"]
    sandbox.add_invoice(invoice_id, D("5.00"))
    note = fixture("create_credit_notes")
    note["CreditNotes"][0].update(Type="ACCRECCREDIT", Status="AUTHORISED")  # a sales credit, approved
    created = client.put("/CreditNotes", json=note).json()["CreditNotes"][0]
    response = client.put(f"/CreditNotes/{created['CreditNoteID']}/Allocations", json=allocation)
    assert response.status_code == 200, response.text
    assert sandbox.invoices[invoice_id].due == D("4.00")


def test_our_invoice_has_the_documented_shape_and_xero_totals_it_to_the_cent() -> None:
    lines = sale_lines()
    invoice = doc(DocumentKind.INVOICE, lines=lines, total=sum((li.gross for li in lines), D(0)))
    body = mapper.invoice_body(invoice, CONFIG, contacts=CONTACTS)
    assert_same_shape(fixture("create_invoices"), body)
    [item] = body["Invoices"]
    assert (item["InvoiceNumber"], item["Reference"], item["LineAmountTypes"]) == ("INV-00000001", "#1001", "Inclusive")
    discount = [li for li in item["LineItems"] if li["AccountCode"] == "4010"]
    assert discount == [
        {
            "Description": "Discount on Navy overshirt NVY M",
            "Quantity": 1,
            "UnitAmount": -18,
            "AccountCode": "4010",
            "TaxType": "OUTPUT2",
            "TaxAmount": -3,
            "LineAmount": -18,
        }
    ]
    sandbox, client = xero()
    sandbox.add_contact("Web shop", FIXTURE_CONTACT)
    answer = client.put("/Invoices", json=body).json()["Invoices"][0]
    assert D(str(answer["Total"])) == invoice.total == D("249.00")
    assert D(str(answer["TotalTax"])) == invoice.tax_total


def test_our_credit_note_payment_and_journal_have_the_documented_shapes() -> None:
    lines = sale_lines()
    note = doc(DocumentKind.CREDIT_NOTE, lines=lines, number="CN-00000002")
    assert_same_shape(fixture("create_credit_notes"), mapper.credit_note_body(note, CONFIG, contacts=CONTACTS))
    assert mapper.credit_note_body(note, CONFIG)["CreditNotes"][0]["Contact"] == {"Name": "web customers"}
    pay = doc(DocumentKind.PAYMENT, total=D("10.00"), tenders=(("card", D("10.00")),), number="PAY-00000003")
    assert_same_shape(fixture("create_payments"), mapper.payment_body(pay, CONFIG, invoice_id="inv-1"))
    assert_same_shape(fixture("create_credit_note_allocation"), mapper.allocation_body("inv-1", D("1.00"), DAY))
    journal = doc(
        DocumentKind.JOURNAL,
        number="JNL-00000004",
        store="STORE-1",
        memo="STORE-1 2026-11-27 cash settlement",
        journal={
            "lines": [
                {"account": "1000", "debit": "100.00", "credit": "0.00", "memo": "cash takings"},
                {"account": "4000", "debit": "0.00", "credit": "100.00", "memo": "sales"},
            ]
        },
    )
    body = mapper.manual_journal_body(journal, tracking_category="Store")
    assert_same_shape(fixture("create_manual_journals"), body)
    assert [line["LineAmount"] for line in body["ManualJournals"][0]["JournalLines"]] == [100, -100]


SUMMARIZED = {"summarizeErrors": "true"}


def test_the_sandbox_refuses_what_xero_refuses() -> None:
    """With ``summarizeErrors=true`` a refusal is a ``ValidationException`` (400)."""
    sandbox, client = xero()
    unbalanced = fixture("create_manual_journals")
    unbalanced["ManualJournals"][0]["JournalLines"][1]["LineAmount"] = -99
    response = client.put("/ManualJournals", json=unbalanced, params=SUMMARIZED)
    assert response.status_code == 400
    assert response.json()["Type"] == "ValidationException"
    assert "must equal total credits" in json.dumps(response.json())
    wrong_total = fixture("create_invoices")
    wrong_total["Invoices"][0]["Contact"] = {"Name": "Someone"}
    wrong_total["Invoices"][0]["LineItems"][0]["LineAmount"] = 41
    assert client.put("/Invoices", json=wrong_total, params=SUMMARIZED).status_code == 400
    ok_invoice = fixture("create_invoices")
    ok_invoice["Invoices"][0].update(Contact={"Name": "Someone"}, InvoiceNumber="INV-1")
    assert client.put("/Invoices", json=ok_invoice).status_code == 200
    again = client.put("/Invoices", json=ok_invoice, params=SUMMARIZED)
    assert again.status_code == 400
    assert "must be unique" in again.text
    assert (
        httpx.Client(base_url="http://xero.test", transport=sandbox.transport())
        .put("/api.xro/2.0/Invoices", json=ok_invoice)
        .status_code
        == 401
    )


def test_an_idempotency_key_replays_the_first_answer_and_a_429_says_when_to_retry() -> None:
    sandbox, client = xero()
    body = fixture("create_invoices")
    body["Invoices"][0]["Contact"] = {"Name": "Someone"}
    first = client.put("/Invoices", json=body, headers={"Idempotency-Key": "k-1"})
    second = client.put("/Invoices", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.json() == second.json()
    assert len(sandbox.invoices) == 1
    assert sandbox.calls[-1].outcome == "replayed"
    sandbox.rate_limit_next(retry_after=7)
    throttled = client.put("/Invoices", json=body, headers={"Idempotency-Key": "k-2"})
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "7")
    assert throttled.headers["x-rate-limit-problem"] == "minute"


def test_without_summarize_errors_xero_answers_200_item_by_item_and_creates_the_valid_ones() -> None:
    """Xero-OpenAPI ``summarizeErrors`` (default false): "return 200 OK and mix of successfully created
    objects and any with validation errors"; each item carries ``StatusAttributeString`` and its own
    ``ValidationErrors``."""
    sandbox, client = xero()
    body = fixture("create_invoices")
    good = {**body["Invoices"][0], "Contact": {"Name": "Someone"}, "InvoiceNumber": "INV-1"}
    bad = json.loads(json.dumps(good))
    bad.update(InvoiceNumber="INV-2")
    bad["LineItems"][0]["LineAmount"] = 41
    response = client.put("/Invoices", json={"Invoices": [good, bad]})
    assert response.status_code == 200
    first, second = response.json()["Invoices"]
    assert first["StatusAttributeString"] == "OK"
    assert not first.get("ValidationErrors")
    assert second["StatusAttributeString"] == "ERROR"
    assert second["HasErrors"] is True
    assert "does not match Quantity x UnitAmount" in second["ValidationErrors"][0]["Message"]
    assert [d.data["InvoiceNumber"] for d in sandbox.invoices.values()] == ["INV-1"]
    assert mapper.item_errors(first) == []
    assert mapper.item_errors(second) == [second["ValidationErrors"][0]["Message"]]
    # summarizeErrors=true: the refusal fails the whole call and nothing of it is created.
    third = {**good, "InvoiceNumber": "INV-3"}
    both = client.put("/Invoices", json={"Invoices": [third, bad]}, params=SUMMARIZED)
    assert both.status_code == 400
    assert [d.data["InvoiceNumber"] for d in sandbox.invoices.values()] == ["INV-1"]


def test_the_client_reads_a_refused_item_in_a_200_answer_as_a_refusal() -> None:
    answer = {
        "Invoices": [
            {
                "InvoiceID": "00000000-0000-0000-0000-000000000000",
                "StatusAttributeString": "ERROR",
                "HasErrors": True,
                "ValidationErrors": [{"Message": "Account code '4000' is not a valid code for this document."}],
            }
        ]
    }
    with pytest.raises(mapper.XeroItemRefused) as refused:
        mapper.created(answer, "Invoices", "InvoiceID", "InvoiceNumber")
    assert refused.value.messages == ["Account code '4000' is not a valid code for this document."]
    ok_answer = {"Invoices": [{"InvoiceID": "abc", "InvoiceNumber": "INV-9", "StatusAttributeString": "OK"}]}
    assert mapper.created(ok_answer, "Invoices", "InvoiceID", "InvoiceNumber") == ("abc", "INV-9")
