"""Request and response shapes. Requests are strict (a quantity of "2" or 2.5 is refused, not coerced)
and closed (an unknown field is a 422 naming it, so a typo never silently does nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Qty = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000)]
NonNegative = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------ locations
class LocationIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["warehouse", "store", "threepl"]


class LocationOut(Response):
    code: str
    name: str
    kind: str
    virtual: bool


class LocationList(Response):
    items: list[LocationOut]


# ------------------------------------------------------------------ catalog
class ColourIn(Request):
    code: Code
    name: str | None = None


class VariantIn(Request):
    sku: Code
    colour: Code
    size: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    fit: str | None = None
    gtin: Annotated[str, StringConstraints(max_length=20)] | None = None
    #: The variant's standard cost in the base currency: a receipt without a unit cost is valued at it.
    cost: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None


class PrepackComponentIn(Request):
    sku: Code
    units: Qty


class PrepackIn(Request):
    sku: Code
    gtin: Annotated[str, StringConstraints(max_length=20)] | None = None
    components: list[PrepackComponentIn]


class PriceIn(Request):
    list: Code
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    amount: Annotated[str, StringConstraints(pattern=r"^\d{1,10}(\.\d{1,4})?$")]


class ImageIn(Request):
    url: Annotated[str, StringConstraints(min_length=9, max_length=2000)]
    alt: Annotated[str, StringConstraints(max_length=512)] | None = None
    position: Annotated[int, Field(ge=1, le=1000)] | None = None


class FibreIn(Request):
    fibre: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    percent: Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,2})?$")]


class ChannelWordsIn(Request):
    title: Annotated[str, StringConstraints(max_length=255)] | None = None
    description: Annotated[str, StringConstraints(max_length=20000)] | None = None


class ContentIn(Request):
    """What a storefront or marketplace shows: published by each channel's connector (``catalog.content``)."""

    description: Annotated[str, StringConstraints(max_length=20000)] | None = None
    images: list[ImageIn] = []
    care: Annotated[str, StringConstraints(max_length=2000)] | None = None
    composition: list[FibreIn] = []
    overrides: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], ChannelWordsIn] = {}


class StyleIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    season: str | None = None
    category: str | None = None
    size_scale: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=64)]], Field(min_length=1)]
    colours: list[ColourIn]
    variants: list[VariantIn]
    prepacks: list[PrepackIn] = []
    prices: list[PriceIn] = []
    fits: list[str] = []
    tax_class: str | None = None
    status: Literal["active", "draft", "discontinued"] = "active"
    attributes: dict[str, Any] = {}
    content: ContentIn | None = None


class VariantOut(Response):
    sku: str
    colour: str
    size: str
    fit: str | None
    gtin: str | None


class PriceOut(Response):
    list: str
    currency: str
    amount: str


class StyleOut(Response):
    code: str
    name: str
    season: str | None
    version: int
    size_scale: list[str]
    colours: list[dict[str, Any]]
    variants: list[VariantOut]
    prices: list[PriceOut]
    content: dict[str, Any] | None = None


class StyleList(Response):
    items: list[StyleOut]
    next_cursor: str | None


class SkuOut(Response):
    sku: str
    kind: str
    style: dict[str, Any]
    colour: str | None
    size: str | None
    gtin: str | None


# ------------------------------------------------------------------ channels
class SkuOverrideIn(Request):
    sku: Code
    safety_stock: NonNegative | None = None
    ring_fence: NonNegative = 0


class ChannelIn(Request):
    kind: Literal["shopify", "pos", "amazon", "mirakl", "wholesale", "threepl", "web", "marketplace", "other"]
    sources: list[Code] = []
    safety_stock: NonNegative = 0
    pause_below: NonNegative = 0
    allow_split: bool = False
    on_shortage: Literal["reject", "backorder"] = "reject"
    sku_overrides: list[SkuOverrideIn] = []
    settings: dict[str, Any] = {}
    #: Read-only (what the answer reports): accepted and ignored, so a channel read can be written back.
    wiring: dict[str, Any] | None = None


class ChannelWiring(Response):
    """What of a channel's connector runs in this process: ``state`` is ``wired``, ``incomplete`` (``missing``
    names the settings keys it waits for), ``error`` (its settings were refused when built: ``error``),
    ``pending`` (not yet picked up here), ``manual`` (a till posting its own sales) or ``no_connector``."""

    state: Literal["wired", "incomplete", "error", "pending", "manual", "no_connector"]
    missing: list[str]
    error: str | None = None


class ChannelOut(Response):
    code: str
    kind: str
    sources: list[str]
    safety_stock: int
    pause_below: int
    settings: dict[str, Any]
    wiring: ChannelWiring | None = None


class ChannelList(Response):
    items: list[ChannelOut]


# ------------------------------------------------------------------ ledger
class MovementIn(Request):
    kind: Literal["receipt", "adjustment", "damage", "sample", "employee_purchase"]
    sku: Code
    qty: Qty
    from_: Code | None = Field(default=None, alias="from")
    to: Code | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    document: Annotated[str, StringConstraints(max_length=128)] | None = None
    #: A receipt's unit cost, a decimal string in the base currency (``currency``, when given, must be it).
    unit_cost: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)] | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MovementOut(Response):
    id: int
    kind: str
    sku: str
    qty: int
    from_: str = Field(alias="from")
    to: str
    occurred_at: str
    recorded_at: str

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class StockItem(Response):
    sku: str
    location: str
    on_hand: int
    committed: int
    reserved: int
    available: int


class StockOut(Response):
    items: list[StockItem]


class HoldLineIn(Request):
    sku: Code
    qty: Qty
    location: Code | None = None


class HoldIn(Request):
    channel: Code | None = None
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=500)]
    ttl_seconds: Annotated[int, Field(strict=True, ge=1)] | None = None


class HoldLineOut(Response):
    sku: str
    location: str
    qty: int


class HoldOut(Response):
    id: str
    status: Literal["held", "committed", "released", "expired"]
    lines: list[HoldLineOut]
    expires_at: str


class AvailabilityItem(Response):
    sku: str
    available: int
    paused: bool


class AvailabilityOut(Response):
    items: list[AvailabilityItem]
    next_cursor: str | None = None


# ------------------------------------------------------------------ tokens
class TokenIn(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    scopes: Annotated[list[str], Field(min_length=1)]
    #: Either: the token is refused (401) from then on. Neither: it lives until revoked.
    expires_in_seconds: Annotated[int, Field(strict=True, ge=1)] | None = None
    expires_at: datetime | None = None


class TokenOut(Response):
    token: str | None
    name: str
    scopes: list[str]


class TokenInfo(Response):
    """A token as listed: never its secret or its hash."""

    id: str
    name: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    rotated_to: str | None
    status: Literal["active", "expired", "revoked"]
    bootstrap: bool


class TokenList(Response):
    items: list[TokenInfo]


class RotateIn(Request):
    #: How long the old secret keeps working (0: revoked at once).
    grace_seconds: Annotated[int, Field(strict=True, ge=0)] = 0


class RotatedOut(TokenInfo):
    token: str | None
    previous: TokenInfo


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None
