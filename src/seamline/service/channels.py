"""Sales channels: where each sells from and the bounds on what it may take (DESIGN 4.4), and its
connector settings, secrets write-only."""

from __future__ import annotations

from typing import Any, TypedDict

from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.ledger import SELLABLE_KINDS
from seamline.service.catalog import catalog_code_ok
from seamline.service.outbound import OutboundPolicy
from seamline.service.results import PutResult
from seamline.service.settings import Settings
from seamline.service.transactions import Part, Transactions
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channels_repo, ledger_repo

SHORTAGE_POLICIES = ("reject", "backorder")
CHANNEL_KINDS = ("shopify", "pos", "amazon", "mirakl", "wholesale", "threepl", "web", "marketplace", "other")
SECRET_SETTING_HINTS = ("secret", "token", "password", "key")


def _is_secret(name: str) -> bool:
    return any(hint in name.lower() for hint in SECRET_SETTING_HINTS)


def redact_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Secrets in channel settings are write-only: report that they are set, never their value."""
    return {k: ("***" if _is_secret(k) and v else v) for k, v in settings.items()}


class ChannelView(TypedDict):
    code: str
    kind: str
    sources: list[str]
    safety_stock: int
    pause_below: int
    allow_split: bool
    on_shortage: str
    sku_overrides: list[dict[str, Any]]
    #: Secrets shown as ``***``: they are write-only.
    settings: dict[str, Any]


class Channels(Part):
    def __init__(self, tx: Transactions) -> None:
        super().__init__(tx)
        self._outbound: tuple[Settings, OutboundPolicy] | None = None

    @property
    def outbound(self) -> OutboundPolicy:
        """Which URLs, hosts and folders connector settings may name (issue #20), from the current settings."""
        if self._outbound is None or self._outbound[0] is not self.settings:
            self._outbound = (self.settings, OutboundPolicy.from_settings(self.settings))
        return self._outbound[1]

    def put_channel(self, uow: UnitOfWork, code: str, body: dict[str, Any]) -> PutResult[ChannelView]:
        conn = uow.conn
        if not catalog_code_ok(code):
            raise InvalidInput("bad channel code", [FieldError("code", "must be 1-64 letters, digits or . _ - /")])
        errors: list[FieldError] = []
        kind = body.get("kind")
        if kind not in CHANNEL_KINDS:
            errors.append(FieldError("kind", f"must be one of {', '.join(CHANNEL_KINDS)}"))
        sources = body.get("sources") or []
        kinds = ledger_repo.location_kinds(conn)
        for i, loc in enumerate(sources):
            if loc not in kinds:
                errors.append(FieldError(f"sources[{i}]", f"location {loc!r} does not exist"))
            elif kinds[loc] not in SELLABLE_KINDS:
                errors.append(FieldError(f"sources[{i}]", f"{loc} is not a sellable location"))
        if len(set(sources)) != len(sources):
            errors.append(FieldError("sources", "lists a location twice"))
        for name in ("safety_stock", "pause_below"):
            value = body.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors.append(FieldError(name, "must be a whole number, 0 or more"))
        on_shortage = body.get("on_shortage", "reject")
        if on_shortage not in SHORTAGE_POLICIES:
            errors.append(FieldError("on_shortage", "must be reject or backorder"))
        sku_policies: dict[str, tuple[int | None, int]] = {}
        raw_overrides = body.get("sku_overrides") or []
        known = catalog_repo.known_skus(conn, [o.get("sku", "") for o in raw_overrides])
        for i, item in enumerate(raw_overrides):
            sku = item.get("sku")
            safety, fence = item.get("safety_stock"), item.get("ring_fence", 0)
            if sku not in known:
                errors.append(FieldError(f"sku_overrides[{i}].sku", f"unknown SKU {sku!r}"))
                continue
            if safety is not None and (isinstance(safety, bool) or not isinstance(safety, int) or safety < 0):
                errors.append(FieldError(f"sku_overrides[{i}].safety_stock", "must be a whole number, 0 or more"))
                continue
            if isinstance(fence, bool) or not isinstance(fence, int) or fence < 0:
                errors.append(FieldError(f"sku_overrides[{i}].ring_fence", "must be a whole number, 0 or more"))
                continue
            sku_policies[str(sku)] = (safety, fence)
        # Where the connector will send its token: https to a public host, a drop folder under the root (#20).
        errors.extend(self.outbound.check_settings(str(kind), body.get("settings") or {}))
        if errors:
            raise InvalidInput(f"channel {code} is not valid", errors)
        existing = channels_repo.get_channel(conn, code)
        settings = dict(body.get("settings") or {})
        if existing:
            # Write-only secrets: a PUT that leaves a secret out keeps the one already stored.
            for key, value in existing["settings"].items():
                if _is_secret(key) and key not in settings:
                    settings[key] = value
        values = {
            "kind": kind,
            "sources": list(sources),
            "safety_stock": body.get("safety_stock", 0),
            "pause_below": body.get("pause_below", 0),
            "allow_split": bool(body.get("allow_split", False)),
            "on_shortage": on_shortage,
            "settings": settings,
        }
        channels_repo.save_channel(conn, code, values, sku_policies, self.clock.now())
        saved = channels_repo.get_channel(conn, code)
        assert saved is not None
        return PutResult(existing is None, channel_view(saved))

    def list_channels(self) -> list[ChannelView]:
        return [channel_view(row) for row in self.read(channels_repo.list_channels)]

    def get_channel(self, code: str) -> ChannelView:
        row = self.read(lambda conn: channels_repo.get_channel(conn, code))
        if row is None:
            raise NotFound(f"no channel {code}", code="unknown-channel")
        return channel_view(row)

    @staticmethod
    def unknown_channel(channel: str) -> InvalidInput:
        return InvalidInput(
            f"unknown channel {channel}", [FieldError("channel", "does not exist")], code="unknown-channel"
        )


def channel_view(row: dict[str, Any]) -> ChannelView:
    return {
        "code": row["code"],
        "kind": row["kind"],
        "sources": list(row["sources"]),
        "safety_stock": row["safety_stock"],
        "pause_below": row["pause_below"],
        "allow_split": bool(row["allow_split"]),
        "on_shortage": row["on_shortage"],
        "sku_overrides": [
            {"sku": sku, "safety_stock": p["safety_stock"], "ring_fence": p["ring_fence"]}
            for sku, p in sorted(row.get("sku_policies", {}).items())
        ],
        "settings": redact_settings(dict(row["settings"])),
    }
