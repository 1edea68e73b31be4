"""A database that cannot be opened, created or used: one line from the real command, then exit.

Each run has a timeout: a process left hanging (a database thread never stopped) fails the test
instead of hanging the suite.
"""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.cli.test_commands import VERBATIM

# Starting the command takes about a second; a hang is anything far longer.
TIMEOUT = 60
# A lock must first be waited for (bot.store.sqlite.opening.BUSY_SECONDS, 10 s), then reported.
LOCK_TIMEOUT = 90


def verbatim(
    db: Path, *args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT
) -> tuple[int, str, str]:
    """Run the installed command on `db`; (exit code, stdout, stderr)."""
    command = [VERBATIM] if VERBATIM else [sys.executable, "-m", "bot"]
    environment = {**os.environ, "VERBATIM_DB": str(db), **(env or {})}
    environment.pop("VERBATIM_CONFIG", None)
    environment.pop("VERBATIM_DEBUG", None)
    done = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr


def assert_one_line(code: int, stderr: str, *fragments: str) -> None:
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("verbatim: "), stderr
    assert "unexpected error" not in stderr and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


@pytest.fixture
def made_db(tmp_path: Path) -> Path:
    """A real Verbatim database, made by the command and closed."""
    path = tmp_path / "made.db"
    code, _, stderr = verbatim(path, "docs", "list")
    assert code == 0, stderr
    return path


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(100_000))


def text_file(path: Path) -> None:
    path.write_text("These are my notes, not a database.\n" * 50, encoding="utf-8")


@pytest.mark.parametrize("make", [random_bytes, text_file], ids=["random-bytes", "text-file"])
@pytest.mark.parametrize("command", [("ask", "what is this?"), ("docs", "list"), ("log",)])
def test_a_file_that_is_not_a_database_is_one_line_and_exits(tmp_path, make, command):
    path = tmp_path / "notes.db"
    make(path)
    before = path.read_bytes()
    code, stdout, stderr = verbatim(path, *command)
    assert_one_line(code, stderr, str(path), "is not a Verbatim database")
    assert stdout == ""
    assert path.read_bytes() == before  # never written to


def test_a_truncated_database_is_one_line_and_exits(made_db):
    data = made_db.read_bytes()
    made_db.write_bytes(data[: len(data) // 2])
    code, _, stderr = verbatim(made_db, "ask", "what is this?")
    assert_one_line(code, stderr, str(made_db), "damaged")


def test_verbatim_run_on_a_file_that_is_not_a_database_is_one_line_and_exits(tmp_path):
    path = tmp_path / "notes.db"
    random_bytes(path)
    # Never reaches Discord: the database is opened before the bot logs in.
    code, _, stderr = verbatim(path, "run", env={"DISCORD_TOKEN": "not-a-token"})
    assert_one_line(code, stderr, "is not a Verbatim database")


def test_a_database_whose_folder_is_a_file_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder")
    code, _, stderr = verbatim(afile / "verbatim.db", "ask", "what is this?")
    assert_one_line(code, stderr, f"{afile} is not a folder")


def test_a_database_whose_folder_cannot_be_made_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder")
    code, _, stderr = verbatim(afile / "data" / "verbatim.db", "docs", "list")
    assert_one_line(code, stderr, "Cannot create the folder", str(afile / "data"))


@pytest.mark.parametrize("where", ["/proc/verbatim.db", "/proc/verbatim/verbatim.db"])
def test_a_database_in_a_read_only_place_is_one_line(where):
    # The tests run as root, whom a chmod-ed folder does not stop; /proc refuses new files and
    # folders to root too. (Without /proc, /proc/verbatim.db would be made and the test fail.)
    assert Path("/proc/self").is_dir()
    code, _, stderr = verbatim(Path(where), "ask", "what is this?")
    assert_one_line(code, stderr, where if where.count("/") == 2 else "/proc/verbatim")
    assert not Path(where).exists()


@pytest.fixture
def held_lock(made_db: Path) -> Iterator[Path]:
    """Another program holds the database's write lock for the whole test."""
    other = sqlite3.connect(made_db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    yield made_db
    other.rollback()
    other.close()


def test_a_locked_database_is_one_line_saying_what_to_do(held_lock):
    code, _, stderr = verbatim(held_lock, "ask", "what is this?", timeout=LOCK_TIMEOUT)
    assert_one_line(code, stderr, str(held_lock), "locked by another program")


def test_a_database_locked_even_for_reading_is_one_line(made_db):
    # EXCLUSIVE locking mode keeps the lock after the write: nobody else can even read.
    other = sqlite3.connect(made_db, isolation_level=None)
    try:
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("INSERT INTO meta (key, value) VALUES ('held', 'yes')")
        code, _, stderr = verbatim(made_db, "docs", "list", timeout=LOCK_TIMEOUT)
    finally:
        other.close()
    assert_one_line(code, stderr, str(made_db), "locked by another program")
