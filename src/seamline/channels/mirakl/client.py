"""The Mirakl Seller API client for offer stock: OF01 (upload an offers file, answered with an import id),
OF02 (the import's status) and OF03 (its error report). Deliberately no OF24: a stock-only ``POST
/api/offers`` resets every offer field it is not sent (price, description, lead time, discounts).

Mirakl authenticates with the shop's API key in ``Authorization`` (no scheme). It answers 429 with
``Retry-After`` when an endpoint's rate is exceeded: the client waits it out up to
``max_throttle_wait_seconds``, then raises ``MiraklThrottled``; 5xx and no answer are ``MiraklUnavailable``,
other 4xx ``MiraklRejected``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
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

    def __post_init__(self) -> None:
        if self.import_mode not in IMPORT_MODES:
            raise ValueError(f"import_mode must be one of {', '.join(IMPORT_MODES)}")

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
        )


class MiraklError(Exception):
    pass


class MiraklThrottled(MiraklError):
    def __init__(self, operation: str, retry_after: float) -> None:
        super().__init__(f"{operation} throttled; retry after {retry_after:.2f}s")
        self.retry_after = retry_after


class MiraklUnavailable(MiraklError):
    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class MiraklRejected(MiraklError):
    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


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

    def import_offers(self, content: bytes, *, file_name: str = "offers.csv") -> int:
        """OF01: upload an offers file in the configured mode; answers Mirakl's import id."""
        response = self._send(
            "OF01",
            "POST",
            "/api/offers/imports",
            params=self._params(),
            data={"import_mode": self.config.import_mode},
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
