"""Attaching orders and sales to one customer across channels (DESIGN 6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seamline.customers import match_customer, normalise_email, normalise_phone
from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.service.app import Seamline
from seamline.store import customers_repo


@dataclass(frozen=True, slots=True)
class ContactRequest:
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    #: ISO 3166 alpha-2 region for a phone number given without its country code.
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    email: str | None
    phone: str | None
    name: str | None


def parse_contact(request: ContactRequest | None, field: str = "customer") -> Contact | None:
    """Normalise the match keys, reporting a bad email and a bad phone together."""
    if request is None:
        return None
    errors: list[FieldError] = []
    codes: set[str] = set()
    email = phone = None
    if request.email is not None:
        try:
            email = normalise_email(request.email, f"{field}.email")
        except InvalidInput as exc:
            errors.extend(exc.errors)
            codes.add(exc.code)
    if request.phone is not None:
        try:
            phone = normalise_phone(request.phone, request.country, f"{field}.phone")
        except InvalidInput as exc:
            errors.extend(exc.errors)
            codes.add(exc.code)
    if errors:
        raise InvalidInput("invalid customer contact", errors, code=codes.pop() if len(codes) == 1 else None)
    name = request.name.strip() if request.name and request.name.strip() else None
    return Contact(email, phone, name)


def attach_customer(conn: Connection, contact: Contact | None, *, document: str, now: datetime) -> str | None:
    """The customer this contact belongs to, created when new; conflicts are recorded, never merged."""
    if contact is None or (contact.email is None and contact.phone is None):
        return None
    found = customers_repo.by_email(conn, contact.email) if contact.email else None
    phone_owners = customers_repo.by_phone(conn, contact.phone) if contact.phone else []
    match = match_customer(contact.email, contact.phone, found, phone_owners)
    customer_id = match.customer_id
    if match.create:
        customer_id = "cus_" + uuid.uuid4().hex
        if not customers_repo.insert_customer(
            conn, customer_id, email=contact.email, phone=contact.phone, name=contact.name, now=now
        ):
            # The same new email arrived on another order a moment ago: it is this customer.
            assert contact.email is not None
            existing = customers_repo.by_email(conn, contact.email)
            assert existing is not None
            return existing.id
    else:
        assert customer_id is not None
        changes: dict[str, Any] = {}
        if match.set_email:
            changes["email"] = match.set_email
        if match.set_phone:
            changes["phone"] = match.set_phone
        if changes:
            customers_repo.update_customer(conn, customer_id, now, **changes)
    for note in match.conflicts:
        customers_repo.insert_conflict(
            conn,
            kind=note.kind,
            customer_id=customer_id,
            other_customer_id=note.other_customer_id,
            email=contact.email,
            phone=contact.phone,
            document=document,
            now=now,
        )
    return customer_id


def customer_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "phone": row["phone"],
        "name": row["name"],
        "created_at": iso_utc(row["created_at"]),
        "updated_at": iso_utc(row["updated_at"]),
    }


def conflict_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "customer_id": row["customer_id"],
        "other_customer_id": row["other_customer_id"],
        "email": row["email"],
        "phone": row["phone"],
        "document": row["document"],
        "created_at": iso_utc(row["created_at"]),
    }


class CustomerDesk:
    """Reads of the unified customer and of the conflicts left for a person to resolve."""

    def __init__(self, app: Seamline) -> None:
        self.app = app

    def get(self, customer_id: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: customers_repo.get_customer(conn, customer_id))
        if row is None:
            raise NotFound(f"no customer {customer_id}", code="unknown-customer")
        return customer_view(row)

    def find(self, *, email: str | None, phone: str | None, country: str | None = None) -> list[dict[str, Any]]:
        """Look a customer up by either key, normalised exactly as orders are matched."""
        if email is None and phone is None:
            raise InvalidInput("give email or phone", [FieldError("email", "or phone is required")])
        key_email = normalise_email(email, "email") if email is not None else None
        key_phone = normalise_phone(phone, country, "phone") if phone is not None else None
        rows = self.app.read(lambda conn: customers_repo.find_customers(conn, email=key_email, phone=key_phone))
        return [customer_view(r) for r in rows]

    def conflicts(self, customer_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: customers_repo.list_conflicts(conn, customer_id=customer_id))
        return [conflict_view(r) for r in rows]
