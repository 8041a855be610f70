"""Accounting connections, configured once (issue 6): which Xero organisation or QuickBooks company the
finance documents are exported to. ``PUT /v1/finance/accounting/{code}`` stores one; the connector wiring
(``seamline serve`` and ``seamline worker``) turns each into the subscriber that posts every
``FinanceDocumentPosted`` to it, rewired when it changes. Tokens are write-only (a PUT that leaves one out
keeps the stored one; answers show ``***``). URLs starting ``sandbox:`` name the in-process sandbox, which
production refuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.service.app import Seamline, catalog_code_ok, redact_settings
from seamline.service.results import PutResult
from seamline.store import accounting_repo

#: kind → settings every connection of that kind needs.
REQUIRED: dict[str, tuple[str, ...]] = {
    "xero": ("base_url", "access_token", "tenant_id"),
    "quickbooks": ("base_url", "access_token", "realm_id"),
}
SECRETS = frozenset({"access_token", "refresh_token", "client_secret"})
SANDBOX_SCHEME = "sandbox:"


def connection_view(row: Mapping[str, Any]) -> dict[str, Any]:
    settings = redact_settings(dict(row["settings"] or {}))
    return {"code": row["code"], "kind": row["kind"], "settings": settings, "target": f"{row['kind']}:{row['code']}"}


class AccountingDesk:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def put_connection(self, conn: Connection, code: str, body: Mapping[str, Any]) -> PutResult[dict[str, Any]]:
        errors: list[FieldError] = []
        if not catalog_code_ok(code):
            errors.append(FieldError("code", "must be 1-64 letters, digits or . _ - /"))
        kind = body.get("kind")
        if kind not in REQUIRED:
            errors.append(FieldError("kind", f"must be one of {', '.join(REQUIRED)}"))
        raw = body.get("settings")
        if not isinstance(raw, Mapping):
            errors.append(FieldError("settings", "must be an object"))
            raw = {}
        existing = accounting_repo.get_connection(conn, code)
        settings = dict(raw)
        if existing is not None and existing["kind"] == kind:
            for key in SECRETS:  # write-only: left out means kept
                if key not in settings and key in existing["settings"]:
                    settings[key] = existing["settings"][key]
        for key in REQUIRED.get(str(kind), ()):
            if not isinstance(settings.get(key), str) or not settings[key]:
                errors.append(FieldError(f"settings.{key}", f"is required for {kind}"))
        # Where the export sends its token: https to a public host, sandbox: outside production (#20).
        errors.extend(self.app.outbound.check_settings(str(kind), settings))
        if errors:
            raise InvalidInput(f"accounting connection {code} is not valid", errors)
        accounting_repo.save_connection(conn, code, str(kind), settings, self.app.clock.now())
        saved = accounting_repo.get_connection(conn, code)
        assert saved is not None
        return PutResult(existing is None, connection_view(saved))

    def connections(self) -> list[dict[str, Any]]:
        return [connection_view(r) for r in self.app.read(accounting_repo.list_connections)]

    def connection(self, code: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: accounting_repo.get_connection(conn, code))
        if row is None:
            raise NotFound(f"no accounting connection {code}", code="unknown-accounting-connection")
        return connection_view(row)
