"""Who a document's receivable belongs to (issue 17: accounts receivable per customer and per wholesale
account, not per channel). Pure.

- a wholesale order's documents: the wholesale account (``account:<code>``), whose invoices follow its terms;
- an order with a known customer: that customer (``customer:<id>``);
- an order without one (a web or till sale to someone we never identified): the channel's cash customer
  (``cash:<channel>``), one contact per channel. Keeping a contact per anonymous buyer would fill the books
  with one-off names nobody can chase for money; their documents are paid at once, so the receivable is
  settled the day it is raised and nothing is lost by pooling them.

Each connection stores the remote id of the contact it made for a party (created once); the contact's
``ContactNumber`` (Xero) is the party's reference and its name carries the reference too (``Name (ref)``),
so a QuickBooks ``DisplayName`` (unique per company) can be looked up before anything is created."""

from __future__ import annotations

from dataclasses import dataclass

#: Xero ``ContactNumber`` and ``AccountNumber`` take 50 characters (xero_accounting.yaml, Contact).
REFERENCE_LIMIT = 50
#: Xero contact ``Name`` takes 255; QuickBooks ``DisplayName`` 500.
NAME_LIMIT = 255


@dataclass(frozen=True)
class Party:
    key: str  # customer:<id> | account:<code> | cash:<channel>
    kind: str  # customer | account | cash
    reference: str  # our id of it: the customer id, the account code, the channel code
    name: str
    email: str | None = None
    #: Net days its invoices are due in (a wholesale account's terms); None: the connection's default.
    terms_days: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.kind == "cash"

    @property
    def display_name(self) -> str:
        """The name in the books: unique by construction (it carries our reference), so two customers who
        share a name are two contacts and a contact is found again by its name."""
        if self.anonymous:
            return self.name[:NAME_LIMIT]
        suffix = f" ({self.reference[:REFERENCE_LIMIT]})"
        return self.name[: NAME_LIMIT - len(suffix)] + suffix

    @property
    def number(self) -> str:
        """The external reference the books keep (Xero ``ContactNumber``)."""
        return self.key[:REFERENCE_LIMIT]


def wholesale_party(code: str, name: str, terms_days: int | None = None) -> Party:
    return Party(f"account:{code}", "account", code, name or code, terms_days=terms_days)


def customer_party(customer_id: str, name: str | None, email: str | None) -> Party:
    return Party(f"customer:{customer_id}", "customer", customer_id, name or email or customer_id, email)


def cash_party(channel: str | None) -> Party:
    code = channel or "seamline"
    return Party(f"cash:{code}", "cash", code, f"{code} customers")
