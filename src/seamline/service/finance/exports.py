"""Accounting exports: each document's export state per accounting connection (pending, exported with the
platform's id, refused with its messages, dead), what the connectors record, and the backfill's candidates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from seamline.domain.errors import FieldError, InvalidInput
from seamline.finance import Document, DocumentKind
from seamline.service.finance.common import FinancePart
from seamline.service.finance.views import iso_or_none, money_text
from seamline.service.unit_of_work import UnitOfWork
from seamline.store import finance_repo


class AccountingExports(FinancePart):
    def document_for(self, source_key: str) -> dict[str, Any] | None:
        """The document posted for a cause (``return:<id>``, ``sale:<order id>``...), if any."""
        return self.app.read(lambda conn: finance_repo.document_for(conn, source_key))

    def export_of(self, target: str, document_id: str) -> dict[str, Any] | None:
        return self.app.read(lambda conn: finance_repo.get_export(conn, target, document_id))

    def record_export(
        self,
        target: str,
        document_id: str,
        *,
        entity: str,
        external_id: str,
        external_number: str | None,
        remote_total: Decimal | None = None,
        customer_ref: str | None = None,
    ) -> None:
        """What an accounting system called a document we posted to it (the credit note allocation and the
        payments need their invoice's id there, and the customer it was booked on), and the total it
        acknowledged; its export state becomes ``exported``."""
        values = {
            "target": target,
            "document_id": document_id,
            "entity": entity,
            "external_id": external_id,
            "external_number": external_number,
            "exported_at": self._now(),
            "customer_ref": customer_ref,
        }

        def work(uow: UnitOfWork) -> None:
            conn = uow.conn
            finance_repo.save_export(conn, values)
            finance_repo.set_export_state(
                conn,
                target,
                document_id,
                "exported",
                now=self._now(),
                external_id=external_id,
                remote_total=remote_total,
            )

        self.app.write(work)

    def record_refusal(self, target: str, document_id: str, messages: Sequence[str]) -> None:
        """The accounting system refused the document: its state is ``refused`` with the platform's messages
        (fix the cause, then backfill with ``refused`` included to export it again)."""
        self.app.write(
            lambda uow: finance_repo.set_export_state(
                uow.conn, target, document_id, "refused", now=self._now(), messages=list(messages)
            )
        )

    def export_attempts(self, target: str, document_id: str) -> int:
        return self.app.read(lambda conn: finance_repo.export_attempts(conn, target, document_id))

    # ---------------------------------------------------------------------------- export states
    def exports(
        self,
        target: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str | None, dict[str, int]]:
        """Each document's export state on one connection (``pending``, ``exported`` with the remote id,
        ``refused`` with the platform's messages, ``dead`` when its delivery was dead-lettered without a
        refusal on record), filterable by state and kind, oldest first; and the count per state."""
        problems = []
        if status is not None and status not in finance_repo.EXPORT_STATES:
            problems.append(FieldError("status", f"must be one of {', '.join(finance_repo.EXPORT_STATES)}"))
        if kind is not None and kind not in {k.value for k in DocumentKind}:
            problems.append(FieldError("kind", f"{kind!r} is not a document kind"))
        after = None
        if cursor is not None:
            if not cursor.isdigit():
                problems.append(FieldError("cursor", "is not a cursor this API gave out"))
            else:
                after = int(cursor)
        if problems:
            raise InvalidInput("bad query", problems)

        def work(conn: Connection) -> tuple[list[dict[str, Any]], set[str], dict[str, int]]:
            dead = finance_repo.dead_documents(conn, target)
            if status in ("dead", "pending"):
                # Dead-lettered without a state on record are stored as pending: split them here.
                rows = finance_repo.export_states(
                    conn, target, status="pending", kind=kind, after_seq=after, limit=limit
                )
                rows = [r for r in rows if (r["id"] in dead) == (status == "dead")]
            else:
                rows = finance_repo.export_states(conn, target, status=status, kind=kind, after_seq=after, limit=limit)
            counts = finance_repo.count_exports(conn, target)
            if dead:
                flagged = len(finance_repo.export_states(conn, target, status="pending", ids=dead, limit=len(dead)))
                counts["dead"] = counts.get("dead", 0) + flagged
                counts["pending"] = counts.get("pending", 0) - flagged
            return rows, dead, counts

        rows, dead, counts = self.app.read(work)
        items = [_export_view(r, "dead" if r["status"] == "pending" and r["id"] in dead else r["status"]) for r in rows]
        next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
        return items, next_cursor, {k: v for k, v in counts.items() if v}

    def backfill_candidates(
        self,
        conn: Connection,
        target: str,
        *,
        include_refused: bool = False,
        after_seq: int | None = None,
        limit: int = 500,
    ) -> list[Document]:
        """Documents never exported to ``target`` (those made before the connection existed, those whose
        delivery died), and the refused ones when asked: a page, oldest first."""
        dead = finance_repo.dead_documents(conn, target)
        statuses = ("pending", "refused") if include_refused else ("pending",)
        ids: list[str] = []
        while len(ids) < limit:
            rows = finance_repo.export_states(conn, target, statuses=statuses, after_seq=after_seq, limit=limit)
            if not rows:
                break
            after_seq = rows[-1]["seq"]
            # A pending one already queued (attempted) waits for its delivery, unless that died.
            ids += [r["id"] for r in rows if r["status"] == "refused" or not r["attempts"] or r["id"] in dead]
        ids = ids[:limit]
        return [Document.from_json(d) for d in finance_repo.document_bodies(conn, ids)]


def _export_view(row: Mapping[str, Any], state: str) -> dict[str, Any]:
    cur = row["currency"]
    return {
        "document_id": row["id"],
        "number": row["number"],
        "kind": row["kind"],
        "currency": cur,
        "total": money_text(row["total"], cur),
        "issued_on": row["issued_on"].isoformat(),
        "order_id": row["order_id"],
        "status": state,
        "external_id": row["external_id"],
        "messages": list(row["messages"]),
        "acknowledged_total": None if row["remote_total"] is None else money_text(row["remote_total"], cur),
        "attempts": row["attempts"],
        "updated_at": iso_or_none(row["updated_at"]),
    }
