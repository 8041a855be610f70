"""Every problem code the source can answer with is documented in docs/errors.md (datasette's habit)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = (
    re.compile(r'code="([a-z-]+)"'),
    re.compile(r'default_code = "([a-z-]+)"'),
    re.compile(r'problem\(\s*\d+,\s*"([a-z-]+)"'),
    re.compile(r'\d{3}: "([a-z-]+)"'),
)


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "seamline").rglob("*.py"):
        text = path.read_text()
        for pattern in PATTERNS:
            found.update(pattern.findall(text))
    found.add("http-error")
    return found


def test_every_problem_code_raised_in_source_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", (ROOT / "docs" / "errors.md").read_text(), re.MULTILINE))
    codes = codes_in_source()
    assert len(codes) > 20, "the scan found the codes"
    assert codes - documented == set()


def test_documented_codes_that_no_code_raises_are_flagged() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", (ROOT / "docs" / "errors.md").read_text(), re.MULTILINE))
    assert documented - codes_in_source() == set()
