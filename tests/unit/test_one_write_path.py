"""Guard: what happens after a write is declared in one table (``service/handlers.py``), carried by the unit
of work. No module may talk to another through notes on the connection (``Connection.info``) or order
before-commit hooks by editing a list; a test fails if one comes back."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "seamline"

FORBIDDEN = {
    "a note on the connection": re.compile(
        r"\bconn(ection)?\.info\b|\.info\s*\[|\.info\.(setdefault|get|pop|update)\("
    ),
    "a before-commit hook list": re.compile(r"\bbefore_commit\b"),
    "list surgery on hooks": re.compile(r"\.insert\(0,\s*\w*(hook|poster|publisher)|\[:0\]\s*="),
    "a savepoint outside the unit of work": re.compile(r"\bbegin_nested\("),
}

#: path (relative to src/seamline) -> the kinds allowed there, and why.
ALLOWED = {
    "service/unit_of_work.py": {"a savepoint outside the unit of work"},  # the one place savepoints are taken
}


def offences() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text()
        for kind, pattern in FORBIDDEN.items():
            if kind in ALLOWED.get(rel, set()):
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if pattern.search(line):
                    found.append(f"{rel}:{number}: {kind}: {line.strip()}")
    return found


def test_no_transaction_notes_or_hook_lists_come_back() -> None:
    assert offences() == []


def test_the_guard_can_fail() -> None:
    samples = {
        "a note on the connection": 'conn.info.setdefault("seamline.x", set()).add(code)',
        "a before-commit hook list": "app.before_commit.append(hook)",
        "list surgery on hooks": "app.hooks.insert(0, poster)",
        "a savepoint outside the unit of work": "with conn.begin_nested():",
    }
    for kind, sample in samples.items():
        assert FORBIDDEN[kind].search(sample), kind
