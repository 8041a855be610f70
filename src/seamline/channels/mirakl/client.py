"""The Mirakl Seller API client. Offer stock: OF01 (upload an offers file, answered with an import id),
OF02 (the import's status) and OF03 (its error report). Orders: OR11 (list, paged by offset), OR21 (accept
or refuse each line), OR23 (carrier tracking), OR24 (ship the whole order), ST01 (a shipment of some units,
with its tracking: partial shipments), OR28 (refund lines), OR29 (cancel an order), OR30 (cancel units of
lines), RE01 (the reason codes). Contract: developer.mirakl.com seller API pages (or28.md, or30.md) and
the OpenAPI-generated models of the Seller API (OR11/OR28/OR30 request and response fields). Deliberately no OF24:
a stock-only ``POST /api/offers`` resets every offer field it is not sent (price, description, lead time,
discounts).

Mirakl authenticates with the shop's API key in ``Authorization`` (no scheme). It answers 429 with
``Retry-After`` when an endpoint's rate is exceeded: the client waits it out up to
``max_throttle_wait_seconds``, then raises ``MiraklThrottled``; 5xx and no answer are ``MiraklUnavailable``,
other 4xx ``MiraklRejected``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from seamline.channels.mirakl.mapper import (
    IMPORT_MODES,
    ErrorLine,
    ImportStatus,
    MappingError,
    parse_error_report,
    parse_import_status,
)
from seamline.integration.channel_errors import ChannelRejected, ChannelThrottled, ChannelUnavailable

SHIPMENT_MODES = ("shipments", "order")
TAX_MODES = ("TAX_INCLUDED", "TAX_EXCLUDED")
#: OR11's largest page.
ORDER_PAGE = 100

#: Offers per OF01 file: Mirakl takes large files, but a smaller one settles (and fails) faster.
DEFAULT_MAX_LINES = 10_000


@dataclass(frozen=True)
class MiraklConfig:
    #: The operator's Mirakl URL, e.g. ``https://marketplace.example.com`` (``/api/...`` is added).
    base_url: str
    api_key: str = field(repr=False)
    shop_id: str | None = None
    import_mode: str = "PARTIAL_UPDATE"
    max_lines: int = DEFAULT_MAX_LINES
    #: At most one OF01 this often (Mirakl asks integrators not to import more than needed).
    min_import_interval_seconds: float = 60.0
    #: List every SKU that gets a number (True), or only SKUs linked to an offer (the default).
    auto_list: bool = False
    timeout_seconds: float = 30.0
    max_throttle_wait_seconds: float = 30.0
    #: Confirm shipments one parcel at a time with ST01 (``shipments``, the operator has multiple shipments
    #: on) or per order with OR23 tracking + OR24 ship once every unit shipped (``order``).
    shipment_mode: str = "shipments"
    #: Our carrier name → the operator's Mirakl carrier code; a carrier not in it goes as ``carrier_name``.
    carrier_codes: Mapping[str, str] = field(default_factory=dict)
    #: The operator's reason codes (its RE01 list, e.g. "17" item returned, "35" out of stock): for a returned
    #: line (OR28) and for units cancelled after acceptance (OR30).
    refund_reason_code: str = "17"
    cancel_reason_code: str = "35"
    #: The tax mode orders are read (OR11) and refunds and cancellations sent (OR28, OR30) in:
    #: ``TAX_INCLUDED`` (price fields include tax, as EU marketplaces show them) or ``TAX_EXCLUDED``.
    order_tax_mode: str = "TAX_INCLUDED"
    #: Our cancellation reason (``out_of_stock``, ``customer``...) → the operator's CANCELATION reason code;
    #: a reason not in it goes as ``cancel_reason_code``.
    cancel_reason_codes: Mapping[str, str] = field(default_factory=dict)
    #: The operator's acceptance window (orders not answered in time are refused by Mirakl), and how long
    #: before its end an order held for an unknown SKU is answered anyway (its unknown lines refused).
    acceptance_window_hours: float = 48.0
    acceptance_margin_hours: float = 2.0
    #: The shop's currency; an order in another is held.
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.import_mode not in IMPORT_MODES:
            raise ValueError(f"import_mode must be one of {', '.join(IMPORT_MODES)}")
        if self.shipment_mode not in SHIPMENT_MODES:
            raise ValueError(f"shipment_mode must be one of {', '.join(SHIPMENT_MODES)}")
        if self.order_tax_mode not in TAX_MODES:
            raise ValueError(f"order_tax_mode must be one of {', '.join(TAX_MODES)}")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MiraklConfig:
        """From a channel's ``settings``: ``base_url``, ``api_key``, and optionally ``shop_id``,
        ``import_mode``, ``max_lines``, ``min_import_interval_seconds``, ``auto_list``."""
        missing = [k for k in ("base_url", "api_key") if not settings.get(k)]
        if missing:
            raise ValueError("a Mirakl channel needs settings " + ", ".join(missing))
        return cls(
            base_url=str(settings["base_url"]),
            api_key=str(settings["api_key"]),
            shop_id=None if settings.get("shop_id") is None else str(settings["shop_id"]),
            import_mode=str(settings.get("import_mode", "PARTIAL_UPDATE")),
            max_lines=int(settings.get("max_lines", DEFAULT_MAX_LINES)),
            min_import_interval_seconds=float(settings.get("min_import_interval_seconds", 60.0)),
            auto_list=bool(settings.get("auto_list", False)),
            shipment_mode=str(settings.get("shipment_mode", "shipments")),
            carrier_codes={str(k): str(v) for k, v in dict(settings.get("carrier_codes") or {}).items()},
            refund_reason_code=str(settings.get("refund_reason_code", "17")),
            cancel_reason_code=str(settings.get("cancel_reason_code", "35")),
            order_tax_mode=str(settings.get("order_tax_mode", "TAX_INCLUDED")),
            cancel_reason_codes={str(k): str(v) for k, v in dict(settings.get("cancel_reason_codes") or {}).items()},
            acceptance_window_hours=float(settings.get("acceptance_window_hours", 48.0)),
            acceptance_margin_hours=float(settings.get("acceptance_margin_hours", 2.0)),
            currency=None if settings.get("currency") is None else str(settings["currency"]),
        )


class MiraklThrottled(ChannelThrottled):
    def __init__(self, operation: str, retry_after: float) -> None:
        super().__init__(f"{operation} throttled; retry after {retry_after:.2f}s", retry_after=retry_after)


class MiraklUnavailable(ChannelUnavailable):
    """No answer from the operator's Mirakl, or a 5xx."""


class MiraklRejected(ChannelRejected):
    """Mirakl refused the call (a 4xx other than 429)."""


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


class MiraklClient:
    def __init__(
        self,
        config: MiraklConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            base_url=config.base_url.rstrip("/"),
            timeout=config.timeout_seconds,
            headers={"Authorization": config.api_key, "Accept": "application/json"},
        )
        self.calls = 0
        self.throttled = 0

    def close(self) -> None:
        self._http.close()

    def _params(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        params = dict(extra or {})
        if self.config.shop_id is not None:
            params["shop_id"] = self.config.shop_id
        return params

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        waited = 0.0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise MiraklUnavailable(f"{operation}: {type(exc).__name__}: {exc}") from exc
            self.calls += 1
            if response.status_code == 429:
                self.throttled += 1
                pause = math.ceil(_retry_after(response) * 1_000_000) / 1_000_000
                if waited + pause > self.config.max_throttle_wait_seconds:
                    raise MiraklThrottled(operation, pause)
                self._sleep(pause)
                waited += pause
                continue
            if response.status_code >= 500:
                raise MiraklUnavailable(f"{operation}: HTTP {response.status_code}", status=response.status_code)
            if response.status_code >= 400:
                raise MiraklRejected(
                    f"{operation}: HTTP {response.status_code}: {response.text[:300]}", status=response.status_code
                )
            return response

    def import_offers(
        self, content: bytes, *, file_name: str = "offers.csv", with_products: bool = False, mode: str | None = None
    ) -> int:
        """OF01: upload an offers file in ``mode`` (the configured one by default); ``with_products``: the file
        also carries product information (the operator's attribute columns). Answers Mirakl's import id."""
        data = {"import_mode": mode or self.config.import_mode}
        if with_products:
            data["with_products"] = "true"
        response = self._send(
            "OF01",
            "POST",
            "/api/offers/imports",
            params=self._params(),
            data=data,
            files={"file": (file_name, content, "text/csv")},
        )
        try:
            return int(response.json()["import_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MiraklUnavailable(f"OF01: no import_id in {response.text[:200]!r}") from exc

    def import_status(self, import_id: int) -> ImportStatus:
        """OF02."""
        response = self._send("OF02", "GET", f"/api/offers/imports/{import_id}", params=self._params())
        try:
            return parse_import_status(response.json())
        except (ValueError, MappingError) as exc:
            raise MiraklUnavailable(f"OF02: {exc}") from exc

    def error_report(self, import_id: int) -> list[ErrorLine]:
        """OF03: the lines of the import in error."""
        response = self._send("OF03", "GET", f"/api/offers/imports/{import_id}/error_report", params=self._params())
        try:
            return parse_error_report(response.content)
        except MappingError as exc:
            raise MiraklUnavailable(f"OF03: {exc}") from exc

    def hierarchies(self) -> list[dict[str, Any]]:
        """H11: the operator's categories (``code``, ``label``, ``level``, ``parent_code``)."""
        answer = self._json("H11", self._send("H11", "GET", "/api/hierarchies", params=self._params()))
        if not isinstance(answer, Mapping) or not isinstance(answer.get("hierarchies"), list):
            raise MiraklUnavailable("H11: no hierarchies list in the answer")
        return [dict(h) for h in answer["hierarchies"] if isinstance(h, Mapping)]

    def attributes(self) -> list[dict[str, Any]]:
        """PM11: the operator's product attributes (``code``, ``label``, ``type``, ``required``)."""
        answer = self._json("PM11", self._send("PM11", "GET", "/api/products/attributes", params=self._params()))
        if not isinstance(answer, Mapping) or not isinstance(answer.get("attributes"), list):
            raise MiraklUnavailable("PM11: no attributes list in the answer")
        return [dict(a) for a in answer["attributes"] if isinstance(a, Mapping)]

    # ------------------------------------------------------------------ orders
    def _json(self, operation: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise MiraklUnavailable(f"{operation}: not JSON: {response.text[:200]!r}") from exc

    def list_orders(
        self,
        *,
        updated_since: str | None = None,
        states: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        offset: int = 0,
        max_results: int = ORDER_PAGE,
    ) -> tuple[list[dict[str, Any]], int]:
        """OR11: one page of orders (oldest first) and the total the filters match."""
        # The tax mode is asked for, not left to the platform's default: the prices read are then known to
        # include (or exclude) the taxes listed beside them.
        params: dict[str, Any] = {"offset": offset, "max": max_results, "order_tax_mode": self.config.order_tax_mode}
        if updated_since:
            params["start_update_date"] = updated_since
        if states:
            params["order_state_codes"] = ",".join(states)
        if order_ids:
            params["order_ids"] = ",".join(order_ids)
        body = self._json("OR11", self._send("OR11", "GET", "/api/orders", params=self._params(params)))
        if not isinstance(body, Mapping) or not isinstance(body.get("orders"), list):
            raise MiraklUnavailable("OR11: no orders list in the answer")
        return [dict(o) for o in body["orders"]], int(body.get("total_count") or 0)

    def accept_lines(self, order_id: str, decisions: Sequence[tuple[str, bool]]) -> None:
        """OR21: accept (True) or refuse (False) every line of an order waiting for acceptance."""
        lines = [{"id": line_id, "accepted": accepted} for line_id, accepted in decisions]
        self._send("OR21", "PUT", f"/api/orders/{order_id}/accept", params=self._params(), json={"order_lines": lines})

    def update_tracking(self, order_id: str, tracking: Mapping[str, str]) -> None:
        """OR23: the order's carrier (``carrier_code`` or ``carrier_name``) and ``tracking_number``."""
        self._send("OR23", "PUT", f"/api/orders/{order_id}/tracking", params=self._params(), json=dict(tracking))

    def ship_order(self, order_id: str) -> None:
        """OR24: every accepted unit of the order has shipped."""
        self._send("OR24", "PUT", f"/api/orders/{order_id}/ship", params=self._params())

    def create_shipments(self, shipments: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
        """ST01: shipments of some units each; answers (successes, errors): one can fail alone."""
        response = self._send(
            "ST01", "POST", "/api/shipments", params=self._params(), json={"shipments": [dict(s) for s in shipments]}
        )
        body = self._json("ST01", response)
        if not isinstance(body, Mapping):
            raise MiraklUnavailable("ST01: the answer is not an object")
        return list(body.get("shipment_success") or []), list(body.get("shipment_errors") or [])

    def list_shipments(self, order_id: str) -> list[dict[str, Any]]:
        """ST11: the order's shipments (every page)."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"order_id": order_id}
            if token:
                params["page_token"] = token
            body = self._json("ST11", self._send("ST11", "GET", "/api/shipments", params=self._params(params)))
            if not isinstance(body, Mapping):
                raise MiraklUnavailable("ST11: the answer is not an object")
            out.extend(dict(s) for s in body.get("data") or [] if isinstance(s, Mapping))
            token = body.get("next_page_token") or None
            if not token:
                return out

    def refund(self, refunds: Sequence[Mapping[str, Any]]) -> list[Any]:
        """OR28: refund order lines (``order_line_id``, ``quantity``, ``amount``, ``shipping_amount``,
        ``taxes``/``shipping_taxes`` as ``[{code, amount}]``, ``reason_code``), amounts in the configured tax
        mode."""
        body = {"refunds": [dict(r) for r in refunds], "order_tax_mode": self.config.order_tax_mode}
        answer = self._json("OR28", self._send("OR28", "PUT", "/api/orders/refund", params=self._params(), json=body))
        return list(answer.get("refunds") or []) if isinstance(answer, Mapping) else []

    def cancel_lines(self, cancelations: Sequence[Mapping[str, Any]]) -> list[Any]:
        """OR30: cancel units of order lines not shipped (same fields as a refund, ``quantity`` required).
        Answers the cancellations created."""
        body = {"cancelations": [dict(c) for c in cancelations], "order_tax_mode": self.config.order_tax_mode}
        answer = self._json("OR30", self._send("OR30", "PUT", "/api/orders/cancel", params=self._params(), json=body))
        return list(answer.get("cancelations") or []) if isinstance(answer, Mapping) else []

    def reasons(self) -> list[dict[str, Any]]:
        """RE01: the operator's reasons (``code``, ``type``, ``label``, ``is_shop_right``)."""
        answer = self._json("RE01", self._send("RE01", "GET", "/api/reasons", params=self._params()))
        if not isinstance(answer, Mapping) or not isinstance(answer.get("reasons"), list):
            raise MiraklUnavailable("RE01: no reasons list in the answer")
        return [dict(r) for r in answer["reasons"] if isinstance(r, Mapping)]

    def cancel_order(self, order_id: str) -> None:
        """OR29: cancel a whole order nothing of which has shipped."""
        self._send("OR29", "PUT", f"/api/orders/{order_id}/cancel", params=self._params())
