"""What the 3PL told us, for people to act on (issue 7): the variance reports its inventory advice became
(never an overwrite of the ledger), and the pick tickets sent to it per order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from seamline.domain.clock import iso_utc
from seamline.domain.errors import NotFound
from seamline.service.app import Seamline
from seamline.store import channels_repo, edi_acks_repo, inbox_repo, threepl_repo


class ThreePLReports:
    def __init__(self, app: Seamline) -> None:
        self.app = app

    def _channel(self, channel: str) -> None:
        if self.app.read(lambda conn: channels_repo.get_channel(conn, channel)) is None:
            raise NotFound(f"no channel {channel}", code="unknown-channel")

    def variances(self, channel: str, *, before: int | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The channel's variance reports, newest first."""
        self._channel(channel)
        rows = self.app.read(lambda conn: threepl_repo.variance_reports(conn, channel, before=before, limit=limit))
        return [variance_report_view(r) for r in rows]

    def pick_tickets(self, channel: str, *, limit: int = 100) -> list[dict[str, Any]]:
        self._channel(channel)
        rows = self.app.read(lambda conn: threepl_repo.pick_tickets(conn, channel, limit=limit))
        return [
            {
                "order_id": r["order_id"],
                "control_number": r["control_number"],
                "status": r["status"],
                "file_name": r["file_name"] or None,
                "created_at": iso_utc(r["created_at"]),
                "sent_at": None if r["sent_at"] is None else iso_utc(r["sent_at"]),
            }
            for r in rows
        ]

    def acknowledgements(self, channel: str, *, direction: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """997s exchanged with the 3PL, newest first: ``sent`` (ours, for its files) and ``received`` (its
        answer to our 940s and 856s, with the order or transfer it names)."""
        self._channel(channel)
        rows = self.app.read(lambda conn: edi_acks_repo.acks(conn, channel, direction=direction, limit=limit))
        return [ack_view(r) for r in rows]

    def exceptions(self, channel: str, *, days: int = 30, limit: int = 100) -> dict[str, Any]:
        """What needs a person: the 3PL's files refused (each reason names its line, segment and element, and
        what was expected) and the 3PL's 997s that did not simply accept what we sent."""
        self._channel(channel)
        since = self.app.clock.now() - timedelta(days=days)
        source = f"threepl:{channel}"
        rejected = self.app.read(lambda conn: inbox_repo.rejected_since(conn, source, since))[-limit:]
        files = []
        for row in reversed(rejected):
            headers = row["headers"] or {}
            name = str(headers.get("file-name") or row["external_id"])
            text = str(row["reason"] or "").removeprefix(f"{name}: ")
            files.append(
                {
                    "message_id": int(row["id"]),
                    "file_name": name,
                    "rejected_at": iso_utc(row["processed_at"]),
                    "reasons": [part.strip() for part in text.split("; ") if part.strip()],
                }
            )
        acks = self.app.read(
            lambda conn: edi_acks_repo.acks(conn, channel, direction="received", statuses=("R", "P", "E"), limit=limit)
        )
        return {"files": files, "acknowledgements": [ack_view(r) for r in acks]}


def ack_view(row: Mapping[str, Any]) -> dict[str, Any]:
    detail = row["detail"] or {}
    return {
        "id": int(row["id"]),
        "direction": row["direction"],
        "functional_id": row["functional_id"],
        "group_control_number": row["group_control_number"],
        "status": row["status"],
        "interchange_control_number": row["interchange_control_number"],
        "file_name": row["file_name"],
        "document": detail.get("document"),
        "reasons": detail.get("reasons") or [],
        "sets": [
            {"code": s.get("code"), "control_number": s.get("control_number"), "status": s.get("status")}
            for s in detail.get("sets") or []
        ],
        "recorded_at": iso_utc(row["recorded_at"]),
    }


def variance_report_view(row: Mapping[str, Any]) -> dict[str, Any]:
    lines = row["lines"]
    return {
        "id": int(row["id"]),
        "channel": row["channel"],
        "location": row["location"],
        "reference": row["reference"],
        "file_name": row["file_name"],
        "inbox_message_id": row["inbox_message_id"],
        "as_of": None if row["as_of"] is None else row["as_of"].isoformat(),
        "complete": bool(row["complete"]),
        "clean": bool(row["clean"]),
        "agreeing": int(row["agreeing"]),
        "created_at": iso_utc(row["created_at"]),
        "variances": [
            {
                "sku": line["sku"],
                "measure": line["measure"],
                "threepl": line["threepl_qty"],
                "ledger": line["ledger_qty"],
                "difference": line["threepl_qty"] - line["ledger_qty"],
            }
            for line in lines
            if line["kind"] == "variance"
        ],
        "not_reported": [
            {"sku": line["sku"], "measure": line["measure"], "ledger": line["ledger_qty"]}
            for line in lines
            if line["kind"] == "not_reported"
        ],
        "unmatched": [
            {"item": line["item"], "measure": line["measure"], "threepl": line["threepl_qty"], "reason": line["reason"]}
            for line in lines
            if line["kind"] == "unmatched"
        ],
    }
