"""Files the inbox rejected when applying them, shown to the 3PL: each moves from archive/ on to error/
beside a ``<name>.errors.txt`` of its reasons, a line each, as a file refused when read does at once.

Why afterwards, from archive/: a file leaves inbound/ only once the inbox stored it (so a crash never loses
one), and whether it applies is decided later, by the inbox, in its own transaction and perhaps in another
process. The scan job that took it in asks the inbox for the source's rejections since its last pass and
moves each rejected file it still finds in archive/ (the copy with the message's SHA-256): a file moved
already is not found there again, so looking twice is harmless. A file whose message is rejected after the
3PL's server went away is moved on the first pass that reaches the server again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from seamline.channels.threepl.dropfolder import DropFolder
from seamline.service import Seamline
from seamline.store import inbox_repo

#: How far back the first pass of a process looks (it does not know what a pass before a restart moved).
LOOKBACK = timedelta(days=7)
#: Each pass looks again this far behind where the last one started: a rejection committed meanwhile by
#: another process (whose clock may be a little behind) still carries a time in the window.
OVERLAP = timedelta(minutes=10)


def rejection_reasons(file_name: str, reason: str) -> list[str]:
    """The inbox keeps a rejected file's reasons as one text, ``<name>: <reason>; <reason>``; the 3PL
    reads them a line each, marked like those of a file refused when read."""
    text = reason.removeprefix(f"{file_name}: ")
    return [f"error: {part.strip()}" for part in text.split("; ") if part.strip()] or ["error: rejected"]


class RejectedFiles:
    """The pass of one channel's scan job that moves rejected files on to error/ (see the module)."""

    def __init__(self, app: Seamline, folder: DropFolder, source: str) -> None:
        self.app = app
        self.folder = folder
        self.source = source
        self._since: datetime | None = None
        #: Messages this process has dealt with (moved, or found moved), and when they were rejected.
        self._done: dict[int, datetime] = {}

    def move(self) -> list[str]:
        """Move the files rejected since the last pass; answers where each went (``error/<name>``)."""
        started = self.app.clock.now()
        since = started - LOOKBACK if self._since is None else self._since
        rows = self.app.read(lambda conn: inbox_repo.rejected_since(conn, self.source, since))
        moved: list[str] = []
        for row in rows:
            message_id = int(row["id"])
            if message_id in self._done:
                continue
            headers = row["headers"] or {}
            name, checksum = headers.get("file-name"), headers.get("sha256")
            if name and checksum:
                reasons = rejection_reasons(str(name), str(row["reason"] or ""))
                target = self.folder.reject_archived(str(name), str(checksum), reasons)
                if target is not None:
                    moved.append(f"error/{target}")
            self._done[message_id] = row["processed_at"]
        self._since = started - OVERLAP
        self._done = {k: at for k, at in self._done.items() if at >= self._since}
        return moved
