"""Where a connector may reach (issue #20): the URLs, hosts and folders in channel and accounting settings
are written by an API caller, and the connector then sends its access token there. So a settings URL must be
``https`` (or ``sandbox:``, outside production) and its host must resolve only to public addresses; a
private, loopback or link-local address is refused unless the operator lists it in
``SEAMLINE_OUTBOUND_ALLOW`` (hosts, addresses or CIDR networks, comma-separated). A 3PL drop folder must lie
under ``SEAMLINE_DROP_ROOT`` (default: ``drops/`` beside the SQLite database, else in the working directory).

The same check runs when settings are written (a 422 naming the field, nothing written) and when a connector
is built from them (settings stored before this rule, or an address that changed since)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from seamline.domain.errors import FieldError
from seamline.service.settings import Settings

SANDBOX_SCHEME = "sandbox:"

#: Settings keys, per connector kind, that name a URL the connector sends requests (and tokens) to.
URL_SETTINGS: dict[str, tuple[str, ...]] = {
    "shopify": ("admin_api_url",),
    "amazon": ("endpoint", "token_endpoint"),
    "mirakl": ("base_url",),
    "pos": ("base_url",),
    "xero": ("base_url",),
    "quickbooks": ("base_url",),
}
#: Settings keys naming a host the connector opens a connection to.
HOST_SETTINGS: dict[str, tuple[str, ...]] = {"threepl": ("sftp_host",)}
#: Settings keys naming a folder on this server the connector reads and writes.
FOLDER_SETTINGS: dict[str, tuple[str, ...]] = {"threepl": ("drop_folder",)}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]


class Check(Protocol):
    def __call__(self, field: str, value: str, /, *, must_resolve: bool = ...) -> FieldError | None: ...


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (an address literal is itself)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def default_drop_root(settings: Settings) -> Path:
    """``drops/`` in the data directory: beside the SQLite database file, else the working directory."""
    url = settings.database_url
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///")).resolve().parent / "drops"
    return Path.cwd() / "drops"


def _is_internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_internal(address.ipv4_mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class OutboundPolicy:
    allow_hosts: frozenset[str]
    allow_networks: tuple[Network, ...]
    drop_root: Path
    sandbox_allowed: bool
    resolver: Resolver = resolve

    @classmethod
    def from_settings(cls, settings: Settings, *, resolver: Resolver = resolve) -> OutboundPolicy:
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in settings.outbound_allow:
            entry = item.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        root = Path(settings.drop_root) if settings.drop_root else default_drop_root(settings)
        return cls(frozenset(hosts), tuple(networks), root, settings.env != "production", resolver)

    # ------------------------------------------------------------------ single values
    def check_host(self, field: str, host: str, *, must_resolve: bool = True) -> FieldError | None:
        """Refuses a host that resolves to an internal address (every address it resolves to is checked),
        and one that does not resolve at all unless ``must_resolve`` is off (wiring at start-up must not
        unwire a channel over a DNS hiccup; its requests fail until the name resolves)."""
        name = host.strip().lower().rstrip(".").strip("[]")
        if not name:
            return FieldError(field, "names no host")
        if name in self.allow_hosts:
            return None
        try:
            found = self.resolver(name)
        except (OSError, UnicodeError):
            found = []
        if not found:
            return FieldError(field, f"host {name} does not resolve") if must_resolve else None
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if any(address in network for network in self.allow_networks):
                continue
            if _is_internal(address):
                return FieldError(
                    field,
                    f"host {name} resolves to {address}, a private, loopback or link-local address "
                    "(an operator may allow it in SEAMLINE_OUTBOUND_ALLOW)",
                )
        return None

    def check_url(self, field: str, url: str, *, must_resolve: bool = True) -> FieldError | None:
        if url.startswith(SANDBOX_SCHEME):
            return None if self.sandbox_allowed else FieldError(field, "a sandbox URL is refused in production")
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return FieldError(field, "is not a URL")
        if parts.scheme != "https":
            return FieldError(field, "must be an https URL (or sandbox: outside production)")
        if not host:
            return FieldError(field, "names no host")
        if parts.username is not None or parts.password is not None:
            return FieldError(field, "must not carry credentials in the URL")
        return self.check_host(field, host, must_resolve=must_resolve)

    def folder(self, folder: str) -> Path:
        """Where a drop folder setting points: a relative one is under the drop root."""
        path = Path(folder)
        return (path if path.is_absolute() else self.drop_root / path).resolve()

    def check_folder(self, field: str, folder: str, *, must_resolve: bool = True) -> FieldError | None:
        root = self.drop_root.resolve()
        resolved = self.folder(folder)
        if resolved != root and root not in resolved.parents:
            return FieldError(field, f"must lie under the drop root {root} (SEAMLINE_DROP_ROOT)")
        return None

    # ------------------------------------------------------------------ a connector's settings
    def check_settings(
        self, kind: str, settings: Mapping[str, Any], *, prefix: str = "settings.", must_resolve: bool = True
    ) -> list[FieldError]:
        """Every refusal in ``settings`` of a connector of ``kind``; empty when it may be reached."""
        errors: list[FieldError] = []
        for key, check in self._checks(kind):
            value = settings.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                errors.append(FieldError(prefix + key, "must be a string"))
                continue
            error = check(prefix + key, value, must_resolve=must_resolve)
            if error is not None:
                errors.append(error)
        if not self.sandbox_allowed:
            checked = {key for key, _ in self._checks(kind)}
            for key, value in settings.items():
                if key not in checked and isinstance(value, str) and value.startswith(SANDBOX_SCHEME):
                    errors.append(FieldError(prefix + key, "a sandbox URL is refused in production"))
        return errors

    def _checks(self, kind: str) -> Iterable[tuple[str, Check]]:
        for key in URL_SETTINGS.get(kind, ()):
            yield key, self.check_url
        for key in HOST_SETTINGS.get(kind, ()):
            yield key, self.check_host
        for key in FOLDER_SETTINGS.get(kind, ()):
            yield key, self.check_folder
