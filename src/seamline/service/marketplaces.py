"""Marketplace listings as the connectors and the API see them (issue 7). Each public method is one
transaction; the SQL is in ``store.marketplace_repo``.

A connector asks ``prepare_push`` which listings a new number must go to (one per marketplace, created on
first use), then reports what the platform answered (``published`` / ``refused``). Bulk channels (Mirakl
offer imports, Amazon listings feeds) take the ``pending`` listings with ``start_import`` and settle them
line by line with ``finish_import``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seamline.domain.clock import iso_utc
from seamline.domain.errors import FieldError, InvalidInput, NotFound
from seamline.service.app import Seamline
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import catalog_repo, channels_repo, marketplace_repo

#: Where a platform has no marketplaces of its own (a Mirakl shop), its listings sit under this one.
DEFAULT_MARKETPLACE = "default"


@dataclass(frozen=True)
class ListingIssue:
    """One thing a platform said about a listing submission."""

    message: str
    code: str | None = None
    severity: str = "ERROR"


@dataclass(frozen=True)
class ImportLine:
    line: int
    marketplace: str
    sku: str
    seller_sku: str
    qty: int
    seq: int


class Listings:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    # ------------------------------------------------------------------ the channel's own settings
    def settings(self, channel: str) -> dict[str, Any]:
        row = self.app.read(lambda conn: channels_repo.get_channel(conn, channel))
        if row is None:
            raise NotFound(f"no channel {channel}", code="unknown-channel")
        return dict(row["settings"] or {})

    # ------------------------------------------------------------------ one number at a time
    def prepare_push(
        self,
        channel: str,
        sku: str,
        *,
        qty: int,
        seq: int,
        paused: bool,
        marketplaces: Sequence[str],
        product_type: str | None = None,
        create: bool = False,
    ) -> list[dict[str, Any]]:
        """Record that ``qty`` should show for ``sku`` on each of its listings; answers the listings it must
        still be sent to (none when a newer number was already asked for, or this one was already accepted).

        Only linked SKUs are listed (a brand lists a chosen part of its catalog on a marketplace); ``create``
        lists every SKU that gets a number, on every marketplace given."""

        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            conn = uow.conn
            now = self.app.clock.now()
            if create:
                marketplace_repo.ensure_listings(conn, channel, sku, marketplaces, product_type=product_type, now=now)
            for row in marketplace_repo.get_listings(conn, channel, sku, for_update=True):
                if row["marketplace"] in marketplaces:
                    key = (channel, row["marketplace"], sku)
                    marketplace_repo.record_desired(conn, key, qty=qty, seq=seq, paused=paused, now=now)
            return [
                row
                for row in marketplace_repo.get_listings(conn, channel, sku)
                if row["marketplace"] in marketplaces
                and row["desired_seq"] == seq
                and (row["published_seq"] is None or row["published_seq"] < seq)
            ]

        return self.app.write(work)

    def published(
        self, channel: str, marketplace: str, sku: str, *, qty: int, seq: int, submission: str | None
    ) -> None:
        self.app.write(
            lambda uow: marketplace_repo.record_published(
                uow.conn, (channel, marketplace, sku), qty=qty, seq=seq, submission=submission, now=self.app.clock.now()
            )
        )

    def refused(
        self,
        channel: str,
        marketplace: str,
        sku: str,
        *,
        seq: int,
        submission: str | None,
        issues: Sequence[ListingIssue],
    ) -> None:
        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            now = self.app.clock.now()
            message = "; ".join(i.message for i in issues if i.severity == "ERROR") or "refused"
            marketplace_repo.record_refused(
                conn, (channel, marketplace, sku), seq=seq, submission=submission, error=message, now=now
            )
            marketplace_repo.insert_issues(conn, _issue_rows(channel, marketplace, sku, submission, issues, now))

        self.app.write(work)

    def record_issues(
        self, channel: str, marketplace: str, sku: str, source: str | None, issues: Sequence[ListingIssue]
    ) -> None:
        """Keep warnings that came with an accepted submission."""
        if issues:
            now = self.app.clock.now()
            self.app.write(
                lambda uow: marketplace_repo.insert_issues(
                    uow.conn, _issue_rows(channel, marketplace, sku, source, issues, now)
                )
            )

    # ------------------------------------------------------------------ bulk imports and feeds
    def latest_seq(self) -> int:
        return self.app.read(marketplace_repo.latest_event_seq)

    def plan_catch_up(
        self, channel: str, available: Mapping[str, tuple[int, bool]], *, seq: int, full: bool = False
    ) -> list[dict[str, Any]]:
        """Ask every listing of the channel to show ``available[sku]`` (quantity, paused) as of outbox ``seq``
        where it shows something else (or, ``full``, everywhere), refused listings included; answers the
        listings to send it to. A listing a newer live number is on its way to, or an import already carries,
        is left alone."""

        def work(uow: UnitOfWork) -> list[dict[str, Any]]:
            conn = uow.conn
            now = self.app.clock.now()
            out = []
            for row in marketplace_repo.listed_skus(conn, channel):
                if row["sku"] not in available or row["in_flight"] is not None:
                    continue
                qty, paused = available[row["sku"]]
                if not full and row["status"] in ("active", "paused") and row["published_qty"] == qty:
                    continue
                key = (channel, row["marketplace"], row["sku"])
                again = row["status"] == "error"  # a refused listing is tried once more (its cause may be fixed)
                if marketplace_repo.record_desired(conn, key, qty=qty, seq=seq, paused=paused, now=now, again=again):
                    out.append({**row, "desired_qty": qty, "desired_seq": seq, "paused": paused})
            return out

        return self.app.write(work)

    def pending(self, channel: str, limit: int) -> list[dict[str, Any]]:
        return self.app.read(lambda conn: marketplace_repo.pending_listings(conn, channel, limit))

    def start_import(
        self,
        channel: str,
        kind: str,
        lines: Sequence[ImportLine],
        *,
        external_id: str,
        platform_status: str | None = None,
    ) -> int:
        """Record a submitted import and mark its listings as carried by it."""

        def work(uow: UnitOfWork) -> int:
            conn = uow.conn
            import_id = marketplace_repo.insert_import(
                conn,
                {
                    "channel": channel,
                    "kind": kind,
                    "external_id": external_id,
                    "status": "submitted",
                    "platform_status": platform_status,
                    "lines": [
                        {
                            "line": x.line,
                            "marketplace": x.marketplace,
                            "sku": x.sku,
                            "seller_sku": x.seller_sku,
                            "qty": x.qty,
                            "seq": x.seq,
                        }
                        for x in lines
                    ],
                    "submitted_at": self.app.clock.now(),
                },
            )
            marketplace_repo.set_in_flight(conn, channel, [(x.marketplace, x.sku) for x in lines], import_id)
            return import_id

        return self.app.write(work)

    def open_imports(self, channel: str, kind: str) -> list[dict[str, Any]]:
        return self.app.read(lambda conn: marketplace_repo.open_imports(conn, channel, kind))

    def last_import_at(self, channel: str, kind: str) -> datetime | None:
        return self.app.read(lambda conn: marketplace_repo.last_import_at(conn, channel, kind))

    def note_import_status(self, import_id: int, platform_status: str) -> None:
        self.app.write(lambda uow: marketplace_repo.update_import(uow.conn, import_id, platform_status=platform_status))

    def finish_import(
        self,
        import_id: int,
        *,
        platform_status: str,
        summary: Mapping[str, Any] | None,
        errors: Mapping[tuple[str, str], Sequence[ListingIssue]],
        failed: str | None = None,
    ) -> dict[str, int]:
        """Settle every line of an import: refused where ``errors`` names its (marketplace, sku) or the whole
        import ``failed``, accepted otherwise. Answers how many lines went each way."""

        def work(uow: UnitOfWork) -> dict[str, int]:
            conn = uow.conn
            row = marketplace_repo.get_import(conn, import_id)
            if row is None:
                raise NotFound(f"no import {import_id}", code="unknown-import")
            now = self.app.clock.now()
            channel, source = row["channel"], str(row["external_id"])
            counts = {"accepted": 0, "refused": 0}
            for line in row["lines"]:
                key = (channel, line["marketplace"], line["sku"])
                issues = list(errors.get((line["marketplace"], line["sku"]), ()))
                if failed is not None and not issues:
                    issues = [ListingIssue(failed, "IMPORT_FAILED")]
                if any(i.severity == "ERROR" for i in issues):
                    message = "; ".join(i.message for i in issues if i.severity == "ERROR")
                    marketplace_repo.record_refused(
                        conn, key, seq=int(line["seq"]), submission=source, error=message, now=now
                    )
                    counts["refused"] += 1
                else:
                    marketplace_repo.record_published(
                        conn, key, qty=int(line["qty"]), seq=int(line["seq"]), submission=source, now=now
                    )
                    counts["accepted"] += 1
                marketplace_repo.insert_issues(
                    conn, _issue_rows(channel, line["marketplace"], line["sku"], source, issues, now)
                )
            marketplace_repo.release_in_flight(conn, import_id)
            marketplace_repo.update_import(
                conn,
                import_id,
                status="failed" if failed is not None else "done",
                platform_status=platform_status,
                summary={**(summary or {}), **counts},
                error=failed,
                finished_at=now,
            )
            return counts

        return self.app.write(work)

    # ------------------------------------------------------------------ linking and reading
    def link(
        self,
        conn: Connection,
        channel: str,
        sku: str,
        *,
        marketplace: str,
        seller_sku: str | None,
        product_type: str | None,
    ) -> dict[str, Any]:
        if channels_repo.get_channel(conn, channel) is None:
            raise NotFound(f"no channel {channel}", code="unknown-channel")
        if sku not in catalog_repo.known_skus(conn, [sku]):
            raise InvalidInput(f"unknown SKU {sku}", [FieldError("sku", "does not exist")], code="unknown-sku")
        marketplace_repo.link_listing(
            conn,
            channel,
            marketplace,
            sku,
            seller_sku=seller_sku or sku,
            product_type=product_type,
            now=self.app.clock.now(),
        )
        row = next(r for r in marketplace_repo.get_listings(conn, channel, sku) if r["marketplace"] == marketplace)
        return listing_view(row)

    def listings(
        self, channel: str, *, status: str | None = None, sku: str | None = None, after: str | None = None, limit: int
    ) -> list[dict[str, Any]]:
        def work(conn: Connection) -> list[dict[str, Any]]:
            if channels_repo.get_channel(conn, channel) is None:
                raise NotFound(f"no channel {channel}", code="unknown-channel")
            rows = marketplace_repo.list_listings(conn, channel, status=status, sku=sku, after=after, limit=limit)
            return [listing_view(r) for r in rows]

        return self.app.read(work)

    def issues(self, channel: str, *, sku: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: marketplace_repo.list_issues(conn, channel, sku=sku, limit=limit))
        return [
            {
                "marketplace": r["marketplace"],
                "sku": r["sku"],
                "source": r["source"],
                "code": r["code"],
                "severity": r["severity"],
                "message": r["message"],
                "at": iso_utc(r["at"]),
            }
            for r in rows
        ]

    def imports(self, channel: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.app.read(lambda conn: marketplace_repo.list_imports(conn, channel, limit))
        return [
            {
                "id": r["id"],
                "kind": r["kind"],
                "external_id": r["external_id"],
                "status": r["status"],
                "platform_status": r["platform_status"],
                "lines": len(r["lines"]),
                "summary": r["summary"],
                "error": r["error"],
                "submitted_at": iso_utc(r["submitted_at"]),
                "finished_at": iso_utc(r["finished_at"]) if r["finished_at"] else None,
            }
            for r in rows
        ]

    def pauses(
        self, channel: str, *, sku: str | None = None, after: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """The channel's pause log, oldest first, and the SKUs paused right now."""

        def work(conn: Connection) -> dict[str, Any]:
            if channels_repo.get_channel(conn, channel) is None:
                raise NotFound(f"no channel {channel}", code="unknown-channel")
            rows = marketplace_repo.list_pauses(conn, channel, sku=sku, after=after, limit=limit)
            return {
                "items": [
                    {
                        "id": r["id"],
                        "channel": r["channel"],
                        "sku": r["sku"],
                        "action": r["action"],
                        "atp": r["atp"],
                        "pause_below": r["pause_below"],
                        "at": iso_utc(r["at"]),
                        "event_id": r["event_id"],
                    }
                    for r in rows
                ],
                "paused_now": marketplace_repo.paused_now(conn, channel).get(channel, []),
                "next_after": rows[-1]["id"] if len(rows) == limit else None,
            }

        return self.app.read(work)

    # ------------------------------------------------------------------ pull cursors
    def cursor(self, channel: str, name: str) -> str | None:
        return self.app.read(lambda conn: marketplace_repo.get_cursor(conn, channel, name))

    def set_cursor(self, channel: str, name: str, value: str) -> None:
        self.app.write(lambda uow: marketplace_repo.set_cursor(uow.conn, channel, name, value, self.app.clock.now()))


def _issue_rows(
    channel: str,
    marketplace: str,
    sku: str,
    source: str | None,
    issues: Sequence[ListingIssue],
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "channel": channel,
            "marketplace": marketplace,
            "sku": sku,
            "source": source or "",
            "code": (i.code or None) and i.code[:64],
            "severity": i.severity[:16],
            "message": i.message[:4000],
            "at": now,
        }
        for i in issues
    ]


def listing_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channel": row["channel"],
        "marketplace": row["marketplace"],
        "sku": row["sku"],
        "seller_sku": row["seller_sku"],
        "product_type": row["product_type"],
        "status": row["status"],
        "paused": bool(row["paused"]),
        "desired_qty": row["desired_qty"],
        "published_qty": row["published_qty"],
        "published_at": iso_utc(row["published_at"]) if row["published_at"] else None,
        "in_flight": row["in_flight"],
        "last_submission": row["last_submission"],
        "last_error": row["last_error"],
    }
