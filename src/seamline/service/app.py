"""The application: one object that holds the parts of the service layer, each a module of its own.

- ``transactions``: ``write``/``read``/``idempotent`` (``Seamline`` is a ``Transactions``);
- ``auth``: tokens to principals; ``locations``; ``catalog``; ``channels``; ``inventory`` (movements, receipts,
  stock, availability); ``holds``; ``reconciler`` (the ledger's self-check).

The API, the CLI and the benchmarks all call these; none of them writes SQL of its own. The methods below
that only pass a call on to a part keep the callers written before the split working; new code calls the
part (``app.catalog.put_style(...)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from seamline.catalog import Style, StyleDraft
from seamline.domain.clock import Clock
from seamline.domain.errors import InvalidInput
from seamline.ledger import HoldLineRequest, MovementRequest
from seamline.ledger.batch import ChannelRule
from seamline.ledger.model import PlannedMovement
from seamline.service.auth import TOKEN_CACHE_SECONDS, Authenticator
from seamline.service.catalog import Catalog, SkuView, StylePut, StyleView, catalog_code_ok, style_view
from seamline.service.channels import (
    CHANNEL_KINDS,
    SECRET_SETTING_HINTS,
    SHORTAGE_POLICIES,
    Channels,
    ChannelView,
    channel_view,
    redact_settings,
)
from seamline.service.holds import Holds, HoldView, hold_view
from seamline.service.inventory import Availability, Inventory, MovementView, StockRow, movement_view
from seamline.service.locations import Locations, LocationView, location_view
from seamline.service.outbound import OutboundPolicy
from seamline.service.principal import Principal
from seamline.service.reconcile import Reconciler, ReconcileReport
from seamline.service.results import PutResult
from seamline.service.settings import Settings
from seamline.service.transactions import IdempotencyKey, Stored, Transactions
from seamline.service.unit_of_work import UnitOfWork


class Seamline(Transactions):
    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        super().__init__(engine, clock, settings)
        self.generated_admin_token: str | None = None
        self.auth = Authenticator(self)
        self.locations = Locations(self)
        self.catalog = Catalog(self)
        self.channels = Channels(self)
        self.inventory = Inventory(self)
        self.holds = Holds(self)
        self.reconciler = Reconciler(self)

    # ---------------------------------------------------------------- auth
    @property
    def auth_epoch(self) -> int:
        return self.auth.auth_epoch

    def authenticate(self, token: str | None) -> Principal:
        return self.auth.authenticate(token)

    def authenticate_cached(self, token: str | None) -> Principal | None:
        return self.auth.authenticate_cached(token)

    def forget_tokens(self) -> None:
        self.auth.forget_tokens()

    def ensure_admin_token(self, token: str) -> None:
        self.auth.ensure_admin_token(token)

    # ---------------------------------------------------------------- locations
    def put_location(self, uow: UnitOfWork, code: str, name: str, kind: str) -> PutResult[LocationView]:
        return self.locations.put_location(uow, code, name, kind)

    def list_locations(self) -> list[LocationView]:
        return self.locations.list_locations()

    def get_location(self, code: str) -> LocationView:
        return self.locations.get_location(code)

    # ---------------------------------------------------------------- catalog
    def put_style(self, uow: UnitOfWork, draft: StyleDraft) -> StylePut:
        return self.catalog.put_style(uow, draft)

    def put_styles(self, uow: UnitOfWork, styles: Sequence[Style]) -> list[StylePut | InvalidInput]:
        return self.catalog.put_styles(uow, styles)

    def get_style(self, code: str) -> Style:
        return self.catalog.get_style(code)

    def list_styles(
        self, *, season: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[Style], str | None]:
        return self.catalog.list_styles(season=season, cursor=cursor, limit=limit)

    def get_sku(self, sku: str) -> SkuView:
        return self.catalog.get_sku(sku)

    # ---------------------------------------------------------------- channels
    @property
    def outbound(self) -> OutboundPolicy:
        return self.channels.outbound

    def put_channel(self, uow: UnitOfWork, code: str, body: dict[str, Any]) -> PutResult[ChannelView]:
        return self.channels.put_channel(uow, code, body)

    def list_channels(self) -> list[ChannelView]:
        return self.channels.list_channels()

    def get_channel(self, code: str) -> ChannelView:
        return self.channels.get_channel(code)

    @staticmethod
    def unknown_channel(channel: str) -> InvalidInput:
        return Channels.unknown_channel(channel)

    # ---------------------------------------------------------------- inventory
    def record_movement(
        self,
        uow: UnitOfWork,
        request: MovementRequest,
        *,
        trace_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> MovementView:
        return self.inventory.record_movement(uow, request, trace_id=trace_id, idempotency_key=idempotency_key)

    def receive_stock(
        self,
        uow: UnitOfWork,
        location: str,
        lines: Sequence[tuple[str, int] | tuple[str, int, Decimal | None]],
        *,
        document: str,
        reason: str | None = None,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        return self.inventory.receive_stock(uow, location, lines, document=document, reason=reason, trace_id=trace_id)

    def receive_lines(
        self,
        uow: UnitOfWork,
        location: str,
        lines: Sequence[tuple[str, int] | tuple[str, int, Decimal | None]],
        *,
        document: str,
        reason: str | None = None,
        trace_id: str | None = None,
    ) -> list[PlannedMovement]:
        return self.inventory.receive_lines(uow, location, lines, document=document, reason=reason, trace_id=trace_id)

    def stock(self, *, sku: str | None = None, location: str | None = None, style: str | None = None) -> list[StockRow]:
        return self.inventory.stock(sku=sku, location=location, style=style)

    def availability(
        self,
        channel: str,
        *,
        sku: str | None = None,
        style: str | None = None,
        after: str | None = None,
        limit: int = 500,
    ) -> tuple[list[Availability], str | None]:
        return self.inventory.availability(channel, sku=sku, style=style, after=after, limit=limit)

    def availability_pages(self, channel: str, *, page_size: int = 10_000) -> Iterator[list[Availability]]:
        return self.inventory.availability_pages(channel, page_size=page_size)

    def movements_of(self, sku: str, location: str | None = None, limit: int = 100) -> list[MovementView]:
        return self.inventory.movements_of(sku, location, limit)

    # ---------------------------------------------------------------- holds
    def place_hold(
        self,
        uow: UnitOfWork,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> HoldView:
        return self.holds.place_hold(
            uow, channel=channel, lines=lines, ttl_seconds=ttl_seconds, trace_id=trace_id, till_of=till_of
        )

    def place_hold_txn(
        self,
        *,
        channel: str | None,
        lines: Sequence[HoldLineRequest],
        ttl_seconds: int | None,
        idem: IdempotencyKey | None = None,
        trace_id: str | None = None,
        till_of: tuple[str, ...] | None = None,
    ) -> Stored:
        return self.holds.place_hold_txn(
            channel=channel, lines=lines, ttl_seconds=ttl_seconds, idem=idem, trace_id=trace_id, till_of=till_of
        )

    def check_ttl(self, ttl_seconds: int | None) -> int:
        return self.holds.check_ttl(ttl_seconds)

    @staticmethod
    def hold_rules(conn: Connection, channels: set[str], skus: set[str]) -> dict[str, ChannelRule]:
        return Holds.hold_rules(conn, channels, skus)

    def release_hold(self, uow: UnitOfWork, hold_id: str) -> HoldView:
        return self.holds.release_hold(uow, hold_id)

    def get_hold(self, hold_id: str) -> HoldView:
        return self.holds.get_hold(hold_id)

    def commit_hold(self, uow: UnitOfWork, hold_id: str, document: str) -> list[tuple[str, str, int]]:
        return self.holds.commit_hold(uow, hold_id, document)

    def sweep_expired(self, *, skus: Sequence[str] | None = None, limit: int = 500) -> int:
        return self.holds.sweep_expired(skus=skus, limit=limit)

    # ---------------------------------------------------------------- reconcile
    def reconcile(self) -> ReconcileReport:
        return self.reconciler.reconcile()


__all__ = [
    "CHANNEL_KINDS",
    "SECRET_SETTING_HINTS",
    "SHORTAGE_POLICIES",
    "TOKEN_CACHE_SECONDS",
    "Availability",
    "ChannelView",
    "HoldView",
    "IdempotencyKey",
    "LocationView",
    "MovementView",
    "PutResult",
    "ReconcileReport",
    "Seamline",
    "SkuView",
    "StockRow",
    "Stored",
    "StylePut",
    "StyleView",
    "catalog_code_ok",
    "channel_view",
    "hold_view",
    "location_view",
    "movement_view",
    "redact_settings",
    "style_view",
]
