"""A clone stands alone: no tracked file points at a checkout's neighbours (the shared design and fixtures
that once sat beside it), and the tests run the code of the checkout they belong to (CI runs them from a
bare clone; an installed copy elsewhere on the path would make them prove nothing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import seamline

ROOT = Path(__file__).resolve().parents[2]
# Copied unedited from the shared fixtures: it tells where the files came from, in its own words.
COPIED_UNEDITED = {"tests/fixtures/README.md"}
OUTSIDE = (
    re.compile(r"\.\./+shared\b"),  # the old neighbour directory
    re.compile(r"/work/+(shared|main|wt)\b"),  # this machine's checkouts
    re.compile(r"\bshared/+(fixtures|DESIGN|STYLE|hooks)\b"),
)
# ``Path(__file__).resolve().parents[N]`` and ``.parent`` chains: how high a file climbs from where it is.
PARENTS_INDEX = re.compile(r"__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"__file__\)(?:\.resolve\(\))?((?:\.parent)+)\b")


def tracked_text_files() -> dict[str, str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    texts: dict[str, str] = {}
    for name in filter(None, names):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the work tree
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return texts


def test_no_tracked_file_refers_to_a_directory_beside_the_checkout() -> None:
    texts = tracked_text_files()
    assert "README.md" in texts
    assert "docs/design.md" in texts, "the design lives in the repository"
    found = [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for name, text in texts.items()
        if name not in COPIED_UNEDITED
        for pattern in OUTSIDE
        for m in pattern.finditer(text)
    ]
    assert found == []


def test_no_tracked_python_file_climbs_above_the_repository() -> None:
    found = []
    for name, text in tracked_text_files().items():
        if not name.endswith(".py"):
            continue
        depth = name.count("/")  # parents[depth] of a file is the repository's root
        climbs = [int(m.group(1)) for m in PARENTS_INDEX.finditer(text)]
        climbs += [m.group(1).count(".parent") - 1 for m in PARENT_CHAIN.finditer(text)]
        found += [f"{name}: parents[{n}]" for n in climbs if n > depth]
        if re.search(r"""__file__[^\n]*/\s*["']\.\.["']""", text):  # the file's path joined with ".."
            found.append(f"{name}: a '..' path")
    assert found == []


def test_the_tests_run_the_code_of_their_own_checkout() -> None:
    assert Path(seamline.__file__).resolve().is_relative_to(ROOT / "src"), seamline.__file__
    # Subprocesses (``seamline serve`` in the end-to-end tests) inherit the environment, not pytest's sys.path.
    child = subprocess.run(
        [sys.executable, "-c", "import seamline; print(seamline.__file__)"],
        env=os.environ,
        capture_output=True,
        check=True,
        text=True,
        cwd="/",
    ).stdout.strip()
    assert Path(child).resolve().is_relative_to(ROOT / "src"), child
