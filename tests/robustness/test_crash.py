"""SIGKILL at many points while a large document is added, replaced and removed and while
questions are logged: the database stays intact and nothing committed is lost.

Two real child processes (tests/robustness/crash_child.py) write to one SQLite file through the
real Store and Library; each round kills both at independent, seeded moments, then checks the
file before the next round reopens it (so every round also recovers from the last one's kill).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 30
# The first rounds kill as the children start, on a fresh file: during open and migrations.
EARLY_ROUNDS = 3
MAX_DELAY = 0.4


class Zygote:
    """The crash_child zygote: forks a fresh writer process on request."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.crash_child", "zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "zygote"
        self.children: list[Child] = []

    def spawn(self, mode: str, database: Path, output: Path) -> Child:
        assert self.process.stdin is not None and self.process.stdout is not None
        output.touch()
        self.process.stdin.write(f"{mode} {database} {output}\n")
        self.process.stdin.flush()
        child = Child(mode, int(self.process.stdout.readline()), output)
        self.children.append(child)
        return child

    def close(self) -> None:
        """Stop the zygote and any child a failed round left running."""
        for child in self.children:
            if child.alive():
                os.kill(child.pid, signal.SIGKILL)
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Child:
    mode: str
    pid: int
    output: Path

    def lines(self) -> list[str]:
        text = self.output.read_text()
        # A line cut off by the kill is not a promise: only whole, flushed lines count.
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True


@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)
    documents_checked: int = 0
    newest_checked: int = 0
    interactions_checked: int = 0


def wait_ready(children: list[Child], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not all("ready" in child.lines() for child in children):
        for child in children:
            assert child.alive(), f"{child.mode} child died: {child.lines()}"
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.005)


def kill_at(children: list[Child], delays: list[float]) -> None:
    started = time.monotonic()
    for delay, child in sorted(zip(delays, children, strict=True), key=lambda pair: pair[0]):
        time.sleep(max(0.0, started + delay - time.monotonic()))
        assert child.alive(), f"{child.mode} child ended by itself: {child.lines()[-8:]}"
        os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(child.alive() for child in children):
        assert time.monotonic() < deadline, "a killed child is still there"
        time.sleep(0.002)


def where(lines: list[str], mode: str) -> str:
    """What the child was doing when it died, from its last whole line."""
    last = lines[-1].split()[0] if lines else "start"
    if mode == "log":
        return {"start": "log: starting", "ready": "log: first question"}.get(last, "log: asking")
    return {
        "start": "docs: starting",
        "ready": "docs: before first add",
        "A": "docs: adding",
        "D": "docs: between add and replace",
        "P": "docs: replacing",
        "Q": "docs: after replace",
        "X": "docs: removing",
        "R": "docs: after remove",
    }[last]


def check_database(database: Path, docs: list[str], log: list[str], tally: Tally) -> None:
    db = sqlite3.connect(database)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        if (
            db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'documents'").fetchone()[0]
            == 0
        ):
            # Killed before the first migration committed: nothing may be there at all.
            assert not any(line.startswith(("D", "I")) for line in docs + log)
            return
        # Every document is whole: as many sentences as its count says, at positions 1..n.
        for document_id, count, rows, first, last in db.execute(
            """
            SELECT d.id, d.sentence_count, COUNT(s.id), MIN(s.position), MAX(s.position)
            FROM documents d LEFT JOIN sentences s ON s.document_id = d.id GROUP BY d.id
            """
        ).fetchall():
            assert (rows, first, last) == (count, 1, count), document_id
        # And the documents this round touched hold exactly the sentences their hash names.
        touched = {int(line.split()[1]) for line in docs if line[0] in "DPQX"}
        newest = db.execute("SELECT MAX(id) FROM documents").fetchone()[0]
        if newest is not None and newest > tally.newest_checked:
            touched.add(newest)
            tally.newest_checked = newest
        for document_id in touched:
            found = db.execute(
                "SELECT content_hash FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
            if found is None:
                continue
            texts = db.execute(
                "SELECT text FROM sentences WHERE document_id = ? ORDER BY position",
                (document_id,),
            ).fetchall()
            joined = "\n".join(text for (text,) in texts)
            assert hashlib.sha256(joined.encode("utf-8")).hexdigest() == found[0]
            tally.documents_checked += 1
        assert db.execute(
            "SELECT COUNT(*) FROM sentences WHERE document_id NOT IN (SELECT id FROM documents)"
        ).fetchone() == (0,)
        present = {row[0] for row in db.execute("SELECT id FROM documents")}
        # What the docs child reported committed is there, unless it was being removed: after
        # "X id" the kill may land before or after the removal commits, so either is correct.
        removed = {int(line.split()[1]) for line in docs if line.startswith(("R ", "X "))}
        for line in docs:
            kind, *rest = line.split()
            if kind in ("D", "Q") and int(rest[0]) not in removed:
                assert int(rest[0]) in present, line
            if kind == "R":
                assert int(rest[0]) not in present, line
        # No committed log row is lost, nor its feedback.
        logged = {row[0] for row in db.execute("SELECT id FROM interactions")}
        voted = {row[0] for row in db.execute("SELECT interaction_id FROM feedback")}
        for line in log:
            kind, *rest = line.split()
            if kind == "I":
                assert int(rest[0]) in logged, line
                tally.interactions_checked += 1
            if kind == "F":
                assert int(rest[0]) in voted, line
    finally:
        db.close()


@pytest.mark.slow
def test_sigkill_at_many_points_loses_nothing_committed(tmp_path):
    database = tmp_path / "crash.db"
    chance = random.Random(20261124)
    tally = Tally()
    started = time.monotonic()
    zygote = Zygote()
    try:
        for round_number in range(ROUNDS):
            children = [
                zygote.spawn(mode, database, tmp_path / f"{mode}-{round_number}.out")
                for mode in ("docs", "log")
            ]
            if round_number >= EARLY_ROUNDS:
                wait_ready(children)
            delays = [chance.uniform(0.0, MAX_DELAY) for _ in children]
            kill_at(children, delays)
            docs, log = (child.lines() for child in children)
            for child in children:
                tally.kills[where(child.lines(), child.mode)] += 1
            check_database(database, docs, log, tally)
    finally:
        zygote.close()
    elapsed = time.monotonic() - started
    print(
        f"\ncrash test: {ROUNDS} rounds, {sum(tally.kills.values())} SIGKILLs in "
        f"{elapsed:.1f}s; {tally.documents_checked} document checks, "
        f"{tally.interactions_checked} committed log rows verified; kills landed: "
        + ", ".join(f"{place} {count}" for place, count in sorted(tally.kills.items()))
    )
    # The kills must have hit writes, not only idle moments.
    assert tally.kills["docs: adding"] + tally.kills["docs: replacing"] >= 5
    assert tally.kills["log: asking"] >= 10
