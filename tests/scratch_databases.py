"""PostgreSQL databases the tests make for themselves: named after the process that made them, and dropped
without making the run wait."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from sqlalchemy import Connection, text


def scratch_name(purpose: str) -> str:
    """``seamline_test_<pid>_<purpose>_<random>``: the pid tells a later run whether its maker is gone."""
    return f"seamline_test_{os.getpid()}_{purpose}_{uuid.uuid4().hex[:6]}"


def stale_databases(conn: Connection) -> list[str]:
    """Test databases left by sessions whose process is gone (a background drop that failed, a killed run)."""
    names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'seamline_test_%'")).scalars()
    stale = []
    for db in names:
        pid = db.split("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            stale.append(db)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_in_background(base: str, names: list[str]) -> None:
    """Drop the session's database from a detached process, so the run does not wait for it.

    ``DROP DATABASE`` makes the server checkpoint first, and after a suite's writes that checkpoint took
    28 to 41 s per worker on this 2-core machine: time in which every test had already finished. The
    process outlives pytest; a database it fails to drop is dropped at the end of a later session
    (``stale_databases``)."""
    script = (
        "import sys\n"
        "from sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1], isolation_level='AUTOCOMMIT')\n"
        "for name in sys.argv[2:]:\n"
        "    with engine.connect() as conn:\n"
        "        conn.execute(text('DROP DATABASE IF EXISTS \"' + name + '\" WITH (FORCE)'))\n"
    )
    subprocess.Popen(  # noqa: S603 - our own interpreter and script, arguments we made
        [sys.executable, "-c", script, base, *names],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
