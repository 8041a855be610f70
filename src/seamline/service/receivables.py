"""Accounts receivable per customer and per wholesale account (issue 17): which party each finance document
is booked to (``finance.parties``), and the contact / customer each accounting connection made for that party,
stored once per connection so it is created once and never duplicated. The accounting connectors ask this
before they post a document; ``FinanceDesk`` stays the record of the documents and their exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from seamline.finance import Document
from seamline.finance.parties import Party, cash_party, customer_party, wholesale_party
from seamline.service.app import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import receivables_repo


class ReceivableParties:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def party_of(self, doc: Document) -> Party:
        """The wholesale account of a B2B order, else the order's customer, else the channel's cash customer."""

        def work(conn: Connection) -> Party:
            if doc.order_id:
                account = receivables_repo.wholesale_account_of(conn, doc.order_id)
                if account is not None:
                    return wholesale_party(str(account["code"]), str(account["name"]), account["payment_terms_days"])
            if doc.customer_id:
                found = receivables_repo.customer(conn, doc.customer_id)
                if found is not None:
                    return customer_party(str(found["id"]), found["name"], found["email"])
            return cash_party(doc.channel)

        return self.app.read(work)

    def contact_of(self, target: str, party: str) -> str | None:
        row = self.app.read(lambda conn: receivables_repo.get_contact(conn, target, party))
        return None if row is None else str(row["external_id"])

    def record_contact(self, target: str, party: Party, external_id: str) -> str:
        """Record the contact made (or found) for a party; answers the one on record (the first one wins)."""
        now = self.app.clock.now()

        def work(uow: UnitOfWork) -> str:
            receivables_repo.save_contact(uow.conn, target, party.key, external_id, party.display_name, now)
            row = receivables_repo.get_contact(uow.conn, target, party.key)
            assert row is not None
            return str(row["external_id"])

        return self.app.write(work)

    def contacts(self, target: str) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: receivables_repo.contacts(conn, target))
        return [
            {
                "party": r["party"],
                "external_id": r["external_id"],
                "name": r["name"],
                "created_at": r["created_at"].isoformat(),
            }
            for r in rows
        ]
