"""The QuickBooks sandbox's ``POST /batch`` as Intuit documents it (30 items at most, 40 batch calls a minute
per company, 200 with one ``BatchItemResponse`` per ``bId``: the entity or its own ``Fault``), the client and
mapper that read it item by item, the Xero sandbox's contacts found again by ``ContactNumber``, and the
receivable parties' names and references."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seamline.channels.quickbooks import mapper as qbo_mapper
from seamline.channels.quickbooks.client import QuickBooksClient, QuickBooksConfig, QuickBooksThrottled
from seamline.channels.xero.client import XeroClient, XeroConfig
from seamline.channels.xero.mapper import contact_body, created
from seamline.finance.parties import cash_party, customer_party, wholesale_party
from seamline.sandbox.quickbooks import QuickBooksSandbox, QuickBooksSandboxConfig
from seamline.sandbox.xero import XeroSandbox


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def journal(number: str, customer: str = "1") -> dict[str, Any]:
    line = {"DetailType": "JournalEntryLineDetail", "Amount": 10}
    return {
        "DocNumber": number,
        "Line": [
            {
                **line,
                "JournalEntryLineDetail": {
                    "PostingType": "Debit",
                    "AccountRef": {"value": "1100"},
                    "Entity": {"Type": "Customer", "EntityRef": {"value": customer}},
                },
            },
            {**line, "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "1010"}}},
        ],
    }


def qbo(clock: Clock) -> tuple[QuickBooksSandbox, QuickBooksClient]:
    sandbox = QuickBooksSandbox(QuickBooksSandboxConfig(clock=clock))
    config = QuickBooksConfig("http://qbo.test", sandbox.config.realm_id, sandbox.config.access_token)
    return sandbox, QuickBooksClient(config, transport=sandbox.transport())


def test_a_batch_answers_each_item_on_its_own_the_refused_one_with_its_fault() -> None:
    sandbox, client = qbo(Clock())
    items = [
        qbo_mapper.batch_item("1", "JournalEntry", journal("JE-1")),
        qbo_mapper.batch_item("2", "JournalEntry", journal("JE-2", customer="404")),  # no such customer
        qbo_mapper.batch_item("3", "JournalEntry", journal("JE-1")),  # our number again
        qbo_mapper.batch_item("4", "JournalEntry", journal("JE-4")),
    ]
    answered = client.batch(items, request_id="r-1")
    results = qbo_mapper.batch_results(answered, dict.fromkeys(("1", "2", "3", "4"), "JournalEntry"))
    assert {bid for bid, r in results.items() if isinstance(r, dict)} == {"1", "4"}
    assert results["2"] == [
        (
            "6000",
            "A business validation error has occurred: When you use Accounts Receivable, you must choose a "
            "customer in the Name field.",
        )
    ]
    assert results["3"][0][0] == "6140"
    assert sorted(e["DocNumber"] for e in sandbox.of("JournalEntry")) == ["JE-1", "JE-4"]
    assert [i["Fault"]["type"] for i in answered if "Fault" in i] == ["ValidationFault", "ValidationFault"]
    again = client.batch(items, request_id="r-1")  # the same requestid: QuickBooks' first answer replayed
    assert again == answered
    assert len(sandbox.of("JournalEntry")) == 2


def test_a_batch_takes_30_items_and_a_company_40_batches_a_minute() -> None:
    clock = Clock()
    sandbox, client = qbo(clock)
    with pytest.raises(ValueError, match="30 items at most"):
        client.batch(
            [qbo_mapper.batch_item(str(i), "JournalEntry", journal(f"X-{i}")) for i in range(31)], request_id="x"
        )
    too_many = {
        "BatchItemRequest": [{"bId": str(i), "Query": "select * from Invoice where DocNumber = 'x'"} for i in range(31)]
    }
    answer = sandbox.handle(  # past the client's own check: the company refuses it too
        "POST",
        f"/v3/company/{sandbox.config.realm_id}/batch",
        {"Authorization": "Bearer qbo-sandbox-token"},
        json.dumps(too_many).encode(),
    )
    assert answer.status == 400
    for i in range(39):  # the refused one above was the first batch call of this minute
        client.batch([qbo_mapper.batch_item("1", "JournalEntry", journal(f"M-{i}"))], request_id=f"m-{i}")
        clock.now += 1
    with pytest.raises(QuickBooksThrottled) as throttled:
        client.batch([qbo_mapper.batch_item("1", "JournalEntry", journal("M-40"))], request_id="m-40")
    assert throttled.value.retry_after is not None
    assert 0 < throttled.value.retry_after <= 60
    clock.now += 60
    assert (
        "JournalEntry"
        in client.batch([qbo_mapper.batch_item("1", "JournalEntry", journal("M-40"))], request_id="m-41")[0]
    )


def test_customers_are_unique_by_display_name_and_found_by_it_quotes_and_all() -> None:
    _, client = qbo(Clock())
    party = customer_party("cus_1", "Seán O'Neil", "sean@example.com")
    made = client.create("Customer", qbo_mapper.customer_body(party), request_id="c-1")["Customer"]
    assert made["DisplayName"] == "Seán O'Neil (cus_1)"
    found = client.find_customer("Seán O'Neil (cus_1)")
    assert found is not None
    assert found["Id"] == made["Id"]
    assert client.find_customer("Seán O'Neil (cus_2)") is None
    with pytest.raises(Exception, match="6240"):
        client.create("Customer", qbo_mapper.customer_body(party), request_id="c-2")


def test_xero_contacts_are_found_again_by_contact_number_and_names_are_unique() -> None:
    sandbox = XeroSandbox()
    client = XeroClient(
        XeroConfig("http://xero.test/api.xro/2.0", sandbox.config.access_token, sandbox.config.tenant_id),
        transport=sandbox.transport(),
    )
    party = wholesale_party("ATELIER", "Atelier Nord", 45)
    answer = client.create("Contacts", contact_body(party), idempotency_key="k-1")
    contact_id, _ = created(answer, "Contacts", "ContactID")
    found = client.find_contact("account:ATELIER")
    assert found is not None
    assert (found["ContactID"], found["AccountNumber"]) == (contact_id, "ATELIER")
    assert client.find_contact("account:OTHER") is None
    twice = client.create("Contacts", contact_body(party), idempotency_key="k-2")
    [item] = twice["Contacts"]
    assert item["StatusAttributeString"] == "ERROR"
    assert "must be unique across all active contacts" in item["ValidationErrors"][0]["Message"]


def test_parties_carry_their_reference_in_their_name_within_the_platforms_limits() -> None:
    long = customer_party("c" * 40, "N" * 300, None)
    assert len(long.display_name) == 255
    assert long.display_name.endswith(f" ({'c' * 40})")
    assert len(long.number) <= 50
    assert customer_party("cus_9", None, "a@b.example").display_name == "a@b.example (cus_9)"
    cash = cash_party("web")
    assert cash.anonymous
    assert cash.display_name == "web customers"
