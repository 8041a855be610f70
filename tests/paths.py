"""Where the tests find the real platform payloads: ``tests/fixtures``, copied unedited from the project's
shared fixtures with their sources (``tests/fixtures/README.md``), so a fresh clone carries what its tests read."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
