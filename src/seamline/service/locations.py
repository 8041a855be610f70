"""The physical locations stock is kept at (warehouses, stores, 3PLs); the virtual ones are built in."""

from __future__ import annotations

from typing import Any, TypedDict

from seamline.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from seamline.ledger import LocationKind
from seamline.ledger.model import PHYSICAL_KINDS
from seamline.service.catalog import catalog_code_ok
from seamline.service.results import PutResult
from seamline.service.transactions import Part
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import ledger_repo, locations_repo


class LocationView(TypedDict):
    code: str
    name: str
    kind: str
    virtual: bool


class Locations(Part):
    def put_location(self, uow: UnitOfWork, code: str, name: str, kind: str) -> PutResult[LocationView]:
        conn = uow.conn
        if not catalog_code_ok(code):
            raise InvalidInput("bad location code", [FieldError("code", "must be 1-64 letters, digits or . _ - /")])
        try:
            parsed = LocationKind(kind)
        except ValueError:
            parsed = None
        if parsed not in PHYSICAL_KINDS:
            raise InvalidInput(
                "bad location kind",
                [FieldError("kind", "must be warehouse, store or threepl (virtual locations are built in)")],
            )
        if not name or not name.strip():
            raise InvalidInput("a location needs a name", [FieldError("name", "is required")])
        existing = locations_repo.get_location(conn, code)
        if existing and existing["virtual"]:
            raise Conflict(f"{code} is a built-in virtual location", code="virtual-location")
        if (
            existing
            and existing["kind"] != kind
            and ledger_repo.read_balances(conn, self.clock.now(), locations_in=[code])
        ):
            raise Conflict(f"{code} holds stock; its kind cannot change", code="location-kind-locked")
        locations_repo.save_location(conn, code, name.strip(), kind, self.clock.now())
        uow.forget_location_kinds()
        saved = locations_repo.get_location(conn, code)
        assert saved is not None
        return PutResult(existing is None, location_view(saved))

    def list_locations(self) -> list[LocationView]:
        return [location_view(r) for r in self.read(locations_repo.list_locations)]

    def get_location(self, code: str) -> LocationView:
        row = self.read(lambda conn: locations_repo.get_location(conn, code))
        if row is None:
            raise NotFound(f"no location {code}", code="unknown-location")
        return location_view(row)


def location_view(row: dict[str, Any]) -> LocationView:
    return {"code": row["code"], "name": row["name"], "kind": row["kind"], "virtual": bool(row["virtual"])}
