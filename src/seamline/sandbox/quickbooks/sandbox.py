"""A local QuickBooks Online company speaking the Accounting API v3 (``/v3/company/{realmId}/...``): Invoice,
SalesReceipt, CreditMemo, Payment, JournalEntry and Customer created with ``POST`` (alone or up to 30 in one
``POST /batch``, answered item by item), and the ``query`` endpoint.

It checks what QuickBooks checks for these calls (references to customers, items, accounts and tax codes
that exist; ``Qty`` x ``UnitPrice`` = ``Amount`` on item lines; a ``DocNumber`` of 21 characters at most and
unique per type, else ``6140 Duplicate Document Number Error``; a payment linked to an open invoice for no
more than its balance, and under the invoice's own customer, else ``620 TxnID cannot be linked``; a journal
entry that balances and names the customer on any receivable line), answers QuickBooks' ``Fault`` bodies,
honours ``requestid`` (the first answer is replayed), needs ``Authorization: Bearer`` and throttles with
429 + ``Retry-After`` on request."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import FastAPI

from seamline.sandbox.http import Answer, HttpSandbox, SandboxError

PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<entity>[a-z]+)$")
ENTITIES = {
    "invoice": "Invoice",
    "salesreceipt": "SalesReceipt",
    "creditmemo": "CreditMemo",
    "payment": "Payment",
    "journalentry": "JournalEntry",
    "customer": "Customer",
}
#: "The maximum number of payloads in a single batch request is 30. The maximum number of batch requests is 40
#: per minute per realmID." (Intuit, Building Smarter with Intuit: Batch without a Scratch, 2023-07-19.)
BATCH_LIMIT = 30
BATCHES_PER_MINUTE = 40
CENT = Decimal("0.01")


@dataclass
class QuickBooksSandboxConfig:
    realm_id: str = "9130350000000000"
    access_token: str = "qbo-sandbox-token"
    customers: dict[str, str] = field(default_factory=lambda: {"1": "Seamline customers"})
    items: dict[str, str] = field(default_factory=lambda: {"1": "Sales", "2": "Returns"})
    #: Account ids of the chart (None: any id exists); receivable accounts need a customer on journal lines.
    accounts: frozenset[str] | None = None
    receivable_accounts: frozenset[str] = frozenset({"1100"})
    tax_codes: frozenset[str] | None = None
    #: The clock the batch limit (40 a minute) is counted on; tests bring theirs.
    clock: Callable[[], float] = time.monotonic


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value))


def _ref(raw: Any) -> str | None:
    return str(raw["value"]) if isinstance(raw, dict) and raw.get("value") not in (None, "") else None


class QuickBooksSandbox(HttpSandbox):
    name = "quickbooks"

    def __init__(self, config: QuickBooksSandboxConfig | None = None) -> None:
        super().__init__()
        self.config = config or QuickBooksSandboxConfig()
        self.entities: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES.values()}
        self._next_id = 100
        self._batch_times: list[float] = []
        for cid, name in self.config.customers.items():
            self.entities["Customer"][cid] = {"Id": cid, "DisplayName": name, "SyncToken": "0", "Active": True}

    def of(self, entity: str) -> list[dict[str, Any]]:
        return list(self.entities[entity].values())

    # -- platform hooks -------------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.config.access_token}"

    def idempotency_key(self, headers: dict[str, str], query: dict[str, str], body: Any) -> str | None:
        return query.get("requestid")

    def error_body(self, status: int, message: str) -> Any:
        if status == 401:
            return self._fault("AuthenticationFault", "3200", "message=AuthenticationFailed", "Unauthorized")
        if status == 429:
            return self._fault("ThrottleExceeded", "3001", "message=ThrottleExceeded", "Too many requests")
        return self._fault("SystemFault", "10000", "An application error has occurred", message)

    @staticmethod
    def _fault(kind: str, number: str, message: str, detail: str, element: str = "") -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [{"Message": message, "Detail": detail, "code": number, "element": element}],
                "type": kind,
            },
            "time": datetime.now(UTC).isoformat(),
        }

    def _invalid(self, number: str, message: str, detail: str, element: str = "") -> SandboxError:
        return SandboxError(Answer(400, self._fault("ValidationFault", number, message, detail, element), "rejected"))

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        match = PATH.match(path)
        if match is None or match["realm"] != self.config.realm_id:
            return Answer(404, self.error_body(404, "not found"), "not_found")
        if method == "GET" and match["entity"] == "query":
            return self._query(query.get("query", ""))
        if method == "POST" and match["entity"] == "batch":
            return self._batch(body)
        entity = ENTITIES.get(match["entity"])
        if method != "POST" or entity is None:
            return Answer(404, self.error_body(404, "not found"), "not_found")
        if not isinstance(body, dict):
            raise self._invalid("2500", "Invalid Reference Id", "The request body is not a JSON object")
        created = self._create(entity, body)
        return Answer(200, {entity: created, "time": datetime.now(UTC).isoformat()})

    def _query(self, text: str) -> Answer:
        return Answer(200, {"QueryResponse": self._query_response(text), "time": datetime.now(UTC).isoformat()})

    def _query_response(self, text: str) -> dict[str, Any]:
        """``select * from <Entity> where DocNumber|DisplayName = '<value>'`` (a quote inside is ``\\'``)."""
        found = re.fullmatch(
            r"select \* from (\w+) where (DocNumber|DisplayName) = '((?:[^'\\]|\\.)*)'", text.strip(), re.IGNORECASE
        )
        if found is None or found.group(1) not in self.entities:
            raise self._invalid("4000", "Error parsing query", f"QueryParserError: {text!r}")
        value = re.sub(r"\\(.)", r"\1", found.group(3))
        rows = [e for e in self.entities[found.group(1)].values() if e.get(found.group(2)) == value]
        return {found.group(1): rows} if rows else {}

    # -- batch ----------------------------------------------------------------------------------------
    def _batch(self, body: Any) -> Answer:
        """``POST /batch``: up to 30 ``BatchItemRequest`` items (``bId``, ``operation: create`` and the entity,
        or ``Query``), each done on its own, in order: the answer is 200 with one ``BatchItemResponse`` per item,
        its entity (or ``QueryResponse``) or its own ``Fault``, so one refused item does not stop the others.
        More than 40 batch calls in a minute are throttled (429)."""
        now = self.config.clock()
        self._batch_times = [t for t in self._batch_times if now - t < 60]
        if len(self._batch_times) >= BATCHES_PER_MINUTE:
            wait = 60 - (now - self._batch_times[0])
            raise SandboxError(
                Answer(429, self.error_body(429, "throttled"), "rate_limited", {"retry-after": str(max(1, int(wait)))})
            )
        self._batch_times.append(now)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise self._invalid(
                "2020", "Required param missing", "BatchItemRequest is a list of objects", "BatchItemRequest"
            )
        if len(items) > BATCH_LIMIT:
            raise self._invalid(
                "6000",
                "A business validation error has occurred",
                f"A batch takes {BATCH_LIMIT} items at most; this one has {len(items)}",
                "BatchItemRequest",
            )
        ids = [str(i.get("bId") or "") for i in items]
        if "" in ids or len(set(ids)) != len(ids):
            raise self._invalid("2020", "Required param missing", "Each batch item needs its own bId", "bId")
        answered = [self._batch_one(bid, item) for bid, item in zip(ids, items, strict=True)]
        return Answer(200, {"BatchItemResponse": answered, "time": datetime.now(UTC).isoformat()})

    def _batch_one(self, bid: str, item: dict[str, Any]) -> dict[str, Any]:
        try:
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self._query_response(str(item["Query"]))}
            entities = [k for k in item if k in self.entities]
            if item.get("operation") != "create" or len(entities) != 1 or not isinstance(item[entities[0]], dict):
                raise self._invalid(
                    "2010",
                    "Request has invalid or unsupported property",
                    "A batch item creates one entity (operation create) or is a Query",
                    "operation",
                )
            return {"bId": bid, entities[0]: self._create(entities[0], item[entities[0]])}
        except SandboxError as exc:
            fault = exc.answer.body.get("Fault") if isinstance(exc.answer.body, dict) else None
            return {"bId": bid, "Fault": fault or {"type": "SystemFault", "Error": []}}

    # -- creation -------------------------------------------------------------------------------------
    def _create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if entity == "Customer":
            return self._new_customer(body)
        number = body.get("DocNumber")
        if number is not None:
            if not isinstance(number, str) or len(number) > 21:
                raise self._invalid(
                    "6000", "A business validation error has occurred", "DocNumber: 21 characters at most", "DocNumber"
                )
            if any(e.get("DocNumber") == number for e in self.entities[entity].values()):
                raise self._invalid(
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number."
                    f" This number has already been used. DocNumber={number}",
                )
        if "TxnDate" in body:
            try:
                date.fromisoformat(str(body["TxnDate"]))
            except ValueError:
                raise self._invalid(
                    "2010", "Request has invalid or unsupported property", "TxnDate", "TxnDate"
                ) from None
        if entity == "Payment":
            total = self._payment(body)
        elif entity == "JournalEntry":
            total = self._journal(body)
        else:
            total = self._sales(entity, body)
        self._next_id += 1
        created = {
            **body,
            "Id": str(self._next_id),
            "SyncToken": "0",
            "TotalAmt": total,
            "MetaData": {"CreateTime": datetime.now(UTC).isoformat()},
        }
        if entity == "Invoice":
            created["Balance"] = total
        if entity == "CreditMemo":
            created["RemainingCredit"] = total
        self.entities[entity][created["Id"]] = created
        return created

    def _new_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        """A ``Customer``: its ``DisplayName`` (made from the name parts when left out) is unique across
        customers, vendors and employees: ``6240 Duplicate Name Exists Error`` otherwise."""
        parts = [body.get(k) for k in ("GivenName", "MiddleName", "FamilyName")]
        name = body.get("DisplayName") or " ".join(str(p) for p in parts if p) or body.get("CompanyName")
        if not isinstance(name, str) or not name.strip() or len(name) > 500:
            raise self._invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName (or a name) is missing in the request",
                "DisplayName",
            )
        if any(c.get("DisplayName") == name for c in self.entities["Customer"].values()):
            raise self._invalid(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer, vendor or employee is already using this name.",
                "DisplayName",
            )
        self._next_id += 1
        created = {**body, "DisplayName": name, "Id": str(self._next_id), "SyncToken": "0", "Active": True}
        self.entities["Customer"][created["Id"]] = created
        self.config.customers[created["Id"]] = name
        return created

    def _customer(self, body: dict[str, Any], *, required: bool) -> None:
        ref = _ref(body.get("CustomerRef"))
        if ref is None and required:
            raise self._invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter CustomerRef is missing in the request",
                "CustomerRef",
            )
        if ref is not None and ref not in self.config.customers:
            raise self._invalid(
                "2500",
                "Invalid Reference Id",
                f"Invalid Reference Id : Names element id {ref} not found",
                "CustomerRef",
            )

    def _account(self, ref: str | None, element: str) -> str:
        if ref is None:
            raise self._invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                f"Required parameter {element} is missing",
                element,
            )
        if self.config.accounts is not None and ref not in self.config.accounts:
            raise self._invalid(
                "2500", "Invalid Reference Id", f"Invalid Reference Id : Accounts element id {ref} not found", element
            )
        return ref

    def _sales(self, entity: str, body: dict[str, Any]) -> Decimal:
        self._customer(body, required=entity != "SalesReceipt")
        mode = body.get("GlobalTaxCalculation", "TaxExcluded")
        if mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
            raise self._invalid(
                "2010", "Request has invalid or unsupported property", "GlobalTaxCalculation", "GlobalTaxCalculation"
            )
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            raise self._invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter Line is missing in the request",
                "Line",
            )
        total = Decimal(0)
        for i, line in enumerate(lines):
            amount = _num(line.get("Amount")) if isinstance(line, dict) else None
            if amount is None or amount < 0:
                raise self._invalid(
                    "2050", "Invalid Number", f"Line {i + 1}: Amount is a number, not negative", "Line.Amount"
                )
            detail = line.get("DetailType")
            if detail == "SalesItemLineDetail":
                item = line.get("SalesItemLineDetail") or {}
                if _ref(item.get("ItemRef")) not in self.config.items:
                    raise self._invalid("2500", "Invalid Reference Id", f"Line {i + 1}: Item not found", "ItemRef")
                qty, price = _num(item.get("Qty", 1)), _num(item.get("UnitPrice", amount))
                if qty is None or price is None or (qty * price).quantize(CENT, ROUND_HALF_UP) != amount:
                    raise self._invalid(
                        "6070",
                        "Amount is not equal to UnitPrice * Qty",
                        f"Line {i + 1}: supplied value {amount}",
                        "Line.Amount",
                    )
                code = _ref(item.get("TaxCodeRef"))
                if code is not None and self.config.tax_codes is not None and code not in self.config.tax_codes:
                    raise self._invalid("2500", "Invalid Reference Id", f"TaxCode {code} not found", "TaxCodeRef")
                total += amount
            elif detail == "DiscountLineDetail":
                discount = line.get("DiscountLineDetail") or {}
                self._account(_ref(discount.get("DiscountAccountRef")), "DiscountAccountRef")
                total -= amount
            elif detail not in ("SubTotalLineDetail", "DescriptionOnly"):
                raise self._invalid(
                    "2010", "Request has invalid or unsupported property", f"Line {i + 1}: DetailType", "DetailType"
                )
        if mode == "TaxExcluded":
            total += _num((body.get("TxnTaxDetail") or {}).get("TotalTax", 0)) or Decimal(0)
        if entity == "SalesReceipt" and "DepositToAccountRef" in body:
            self._account(_ref(body["DepositToAccountRef"]), "DepositToAccountRef")
        return total

    def _payment(self, body: dict[str, Any]) -> Decimal:
        self._customer(body, required=True)
        total = _num(body.get("TotalAmt"))
        if total is None or total <= 0:
            raise self._invalid(
                "2020", "Required param missing, need to supply the required value for the API", "TotalAmt", "TotalAmt"
            )
        if "DepositToAccountRef" in body:
            self._account(_ref(body["DepositToAccountRef"]), "DepositToAccountRef")
        linked = Decimal(0)
        for line in body.get("Line") or []:
            amount = _num(line.get("Amount"))
            for txn in line.get("LinkedTxn") or []:
                invoice = self.entities["Invoice"].get(str(txn.get("TxnId")))
                if txn.get("TxnType") != "Invoice" or invoice is None:
                    raise self._invalid(
                        "2500", "Invalid Reference Id", f"Invoice {txn.get('TxnId')} not found", "LinkedTxn"
                    )
                if _ref(invoice.get("CustomerRef")) != _ref(body.get("CustomerRef")):
                    # A payment settles its customer's invoices only: QuickBooks refuses to link another's.
                    raise self._invalid(
                        "620",
                        "TxnID cannot be linked",
                        f"Invoice {txn.get('TxnId')} belongs to customer {_ref(invoice.get('CustomerRef'))}, "
                        f"not {_ref(body.get('CustomerRef'))}",
                        "Payment.Line.LinkedTxn.TxnId",
                    )
                if amount is None or amount <= 0 or amount > invoice["Balance"]:
                    raise self._invalid(
                        "6000",
                        "A business validation error has occurred",
                        "The payment is more than the invoice balance",
                        "Line.Amount",
                    )
                invoice["Balance"] -= amount
                linked += amount
        if linked > total:
            raise self._invalid(
                "6000", "A business validation error has occurred", "Line amounts exceed TotalAmt", "TotalAmt"
            )
        return total

    def _journal(self, body: dict[str, Any]) -> Decimal:
        lines = body.get("Line")
        if not isinstance(lines, list) or len(lines) < 2:
            raise self._invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "a journal entry has two lines or more",
                "Line",
            )
        debits = credits = Decimal(0)
        for i, line in enumerate(lines):
            detail = line.get("JournalEntryLineDetail") if isinstance(line, dict) else None
            amount = _num(line.get("Amount")) if isinstance(line, dict) else None
            if (
                line.get("DetailType") != "JournalEntryLineDetail"
                or not isinstance(detail, dict)
                or amount is None
                or amount < 0
            ):
                raise self._invalid("2010", "Request has invalid or unsupported property", f"Line {i + 1}", "Line")
            account = self._account(_ref(detail.get("AccountRef")), "AccountRef")
            if account in self.config.receivable_accounts:
                entity = detail.get("Entity") or {}
                if _ref(entity.get("EntityRef")) not in self.config.customers:
                    raise self._invalid(
                        "6000",
                        "A business validation error has occurred",
                        "When you use Accounts Receivable, you must choose a customer in the Name field.",
                        "Entity",
                    )
            if detail.get("PostingType") == "Debit":
                debits += amount
            elif detail.get("PostingType") == "Credit":
                credits += amount
            else:
                raise self._invalid(
                    "2010",
                    "Request has invalid or unsupported property",
                    "PostingType is Debit or Credit",
                    "PostingType",
                )
        if debits != credits:
            raise self._invalid(
                "6000",
                "A business validation error has occurred",
                f"Transaction must be balanced: debits {debits}, credits {credits}",
            )
        return debits


def create_app(sandbox: QuickBooksSandbox) -> FastAPI:
    return sandbox.asgi("QuickBooks Online Accounting API sandbox")
