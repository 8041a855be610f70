"""A shared world for the 3PL tests: the overshirt catalog, a 3PL location ``ACME`` with its channel wired
from settings to a drop folder, the items the public EDI samples name, and helpers to drop a file, run the
channel's jobs and read the ledger."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from seamline.channels.wiring import ConnectorWiring
from seamline.domain.clock import FixedClock
from seamline.integration import Integration
from seamline.store.tables import inbox_messages, movements
from tests.conftest import seed_world
from tests.paths import FIXTURES

EDI = FIXTURES / "edi"
SOURCE = "threepl:acme"

#: The items the public samples name, as SKUs (and GTINs) of a catalog that stocks them.
SAMPLE_ITEMS: dict[str, Any] = {
    "name": "Items of the public EDI samples",
    "season": "SS27",
    "category": "samples",
    "size_scale": ["A", "B", "C", "D", "E"],
    "colours": [{"code": "STD", "name": "Standard"}],
    "variants": [
        {"sku": "123456789", "colour": "STD", "size": "A"},  # 945: W12 VN 123456789
        {"sku": "ITEM123", "colour": "STD", "size": "B"},  # 944: W07 UK ITEM123 (not a GTIN)
        {"sku": "HPW2M99UAR", "colour": "STD", "size": "C", "gtin": "190780050378"},  # 846: LIN VP / UP
        {"sku": "UPC-9183", "colour": "STD", "size": "D", "gtin": "008815509183"},  # 856: LIN UP
        {"sku": "UPC-7321", "colour": "STD", "size": "E", "gtin": "008815547321"},  # 856: LIN UP
    ],
    "prices": [{"list": "retail", "currency": "EUR", "amount": "10.00"}],
}


def fixture(name: str) -> bytes:
    return (EDI / name).read_bytes()


class ThreePLWorld:
    def __init__(
        self, client: TestClient, clock: FixedClock, root: Path, *, tolerate: tuple[str, ...] = (), **settings: Any
    ) -> None:
        self.http, self.clock, self.root = client, clock, root
        seed_world(client)
        assert client.put("/v1/locations/ACME", json={"name": "ACME 3PL Reno", "kind": "threepl"}).status_code == 201
        assert client.put("/v1/styles/SMP-001", json=SAMPLE_ITEMS).status_code == 201
        shop = {"kind": "shopify", "sources": ["ACME"], "on_shortage": "reject"}
        assert client.put("/v1/channels/shop", json=shop).status_code in (200, 201)
        self.configure(tolerate=tolerate, **settings)

    @property
    def app_state(self) -> Any:
        return self.http.app.state  # type: ignore[attr-defined]

    @property
    def wiring(self) -> ConnectorWiring:
        wiring: ConnectorWiring = self.app_state.wiring
        return wiring

    @property
    def integration(self) -> Integration:
        integration: Integration = self.app_state.integration
        return integration

    def configure(self, *, tolerate: tuple[str, ...] = (), **settings: Any) -> None:
        body = {
            "kind": "threepl",
            "sources": ["ACME"],
            "settings": {
                "drop_folder": str(self.root),
                "format": "x12",
                "sender_id": "SEAMLINE",
                "receiver_id": "ACME3PL",
                "partner_profile": {"tolerate": list(tolerate)},
                "settle_seconds": 0,
                "company_prefix": "0614141",
                **settings,
            },
        }
        response = self.http.put("/v1/channels/acme", json=body)
        assert response.status_code in (200, 201), response.text
        self.wiring.refresh()
        assert "acme" not in self.wiring.errors, self.wiring.errors

    def drop(self, name: str, body: bytes) -> None:
        path = self.root / "inbound" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written = self.clock.now().timestamp() - 60  # finished writing a minute ago on the world's clock
        os.utime(path, (written, written))

    def take(self) -> None:
        """The channel's jobs (scan the folder, release pick tickets), then the inbox."""
        ran = self.wiring.run_due(force=True)
        assert {"threepl:acme:release", "threepl:acme:scan"} <= set(ran), ran
        self.integration.inbox.drain()

    def messages(self) -> list[dict[str, Any]]:
        with self.http.app.state.seamline.engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                select(inbox_messages).where(inbox_messages.c.source == SOURCE).order_by(inbox_messages.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    def movements(self) -> list[tuple[str, str, str, str, int]]:
        """(kind, sku, from, to, qty) of every movement touching ACME, in order."""
        with self.http.app.state.seamline.engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                select(
                    movements.c.kind,
                    movements.c.sku,
                    movements.c.from_location,
                    movements.c.to_location,
                    movements.c.qty,
                )
                .where((movements.c.from_location == "ACME") | (movements.c.to_location == "ACME"))
                .order_by(movements.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    def reasons(self, kind: str) -> list[tuple[str, str]]:
        """(reason, document) of the movements of ``kind``, in order."""
        with self.http.app.state.seamline.engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                select(movements.c.reason, movements.c.document)
                .where(movements.c.kind == kind)
                .order_by(movements.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    def stock(self, sku: str, location: str = "ACME") -> dict[str, int]:
        items = self.http.get("/v1/stock", params={"sku": sku, "location": location}).json()["items"]
        if not items:
            return {"on_hand": 0, "committed": 0, "reserved": 0, "available": 0}
        (item,) = items
        return {k: item[k] for k in ("on_hand", "committed", "reserved", "available")}

    def receive(self, sku: str, qty: int, to: str = "ACME") -> None:
        body = {"kind": "receipt", "sku": sku, "qty": qty, "to": to}
        assert self.http.post("/v1/movements", json=body).status_code == 201

    def order(self, external_id: str, lines: list[tuple[str, int]], channel: str = "shop") -> dict[str, Any]:
        body = {
            "channel": channel,
            "external_id": external_id,
            "lines": [{"sku": sku, "qty": qty, "unit_price": "10.00"} for sku, qty in lines],
            "currency": "EUR",
        }
        response = self.http.post("/v1/orders", json=body)
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    def order_view(self, order_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/v1/orders/{order_id}").json()
        return body


def x12(code: str, functional_id: str, body: list[str], control: str = "000000901") -> bytes:
    """A well-formed interchange of one transaction set, as a 3PL would send it."""
    segments = [
        f"ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*SEAMLINE       *261127*0900*U*00401*{control}*0*P*>",
        f"GS*{functional_id}*ACME3PL*SEAMLINE*20261127*0900*901*X*004010",
        f"ST*{code}*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*901",
        f"IEA*1*{control}",
    ]
    return ("~\n".join(segments) + "~\n").encode()


def x12_945(order_id: str, lines: list[tuple[str, int]], *, tracking: str = "1Z999AA10123456784") -> bytes:
    body = [f"W06*F*{order_id}*20261127*SHP-{order_id}", "N1*ST*Ada Lovelace", f"N9*CN*{tracking}", "W27*M*UPSN"]
    for n, (sku, qty) in enumerate(lines, start=1):
        body += [f"LX*{n}", f"W12*CC*{qty}*{qty}*0*EA**VN*{sku}"]
    body.append(f"W03*{sum(q for _, q in lines)}")
    return x12("945", "SW", body)


def x12_947(adjustment_id: str, lines: list[tuple[str, str, int]]) -> bytes:
    body = [f"W15*20261127*{adjustment_id}"]
    for n, (code, sku, change) in enumerate(lines, start=1):
        body += [f"LX*{n}", f"W19*{code}*{change}*EA**VN*{sku}"]
    return x12("947", "AW", body)


def x12_944(receipt_id: str, reference: str, lines: list[tuple[str, int]]) -> bytes:
    body = [f"W17*F*20261127*{receipt_id}*{reference}"]
    body += [f"W07*{qty}*EA**VN*{sku}" for sku, qty in lines]
    body.append(f"W14*{sum(q for _, q in lines)}")
    return x12("944", "RE", body)
