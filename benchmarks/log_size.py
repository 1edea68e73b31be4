"""What a year of questions costs on disk: a busy server's log written into a real database.

Run by hand:  python benchmarks/log_size.py  [--per-day 1000] [--days 365] [--work DIR]
Prints the file's size after the year, how long opening it takes when it was made before
incremental vacuum (converted once), and its size after a 90-day retention purge. See the
README's "What is stored".
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import RetrievalSettings  # noqa: E402
from bot.store import LoggedAnswer, open_store  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
OPENERS = ("how do i", "what is", "why does", "can i", "where is", "when does", "who can", "is")
# How members ask: the shares of each way (a mention, /ask, a question channel, the menu).
WAYS = (("mention", 0.4), ("slash", 0.4), ("channel", 0.15), ("context-menu", 0.05))


def file_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def questions(rng: random.Random, count: int) -> list[str]:
    """Questions as members type them: an opener, then 4 to 18 words of the seed articles."""
    words = re.findall(r"[A-Za-z']+", " ".join(p.read_text() for p in SEEDS.glob("*.txt")))
    return [
        f"{rng.choice(OPENERS)} {' '.join(rng.choices(words, k=rng.randint(4, 18)))}?"
        for _ in range(count)
    ]


async def write_year(path: Path, per_day: int, days: int, seed: int) -> tuple[int, int, float]:
    """Log the rows as the bot does (batched INSERTs); (rows, votes, mean question length)."""
    rng = random.Random(seed)
    total = per_day * days
    members = [str(rng.randrange(10**17, 10**18)) for _ in range(5000)]
    channels = [str(rng.randrange(10**17, 10**18)) for _ in range(10)]
    scope = rng.randrange(10**17, 10**18)
    top_k = RetrievalSettings().top_k
    asked = questions(rng, total)
    ways, weights = zip(*WAYS, strict=True)
    votes = 0
    async with open_store(path) as store:
        for start in range(0, total, 200):

            async def ask(question: str) -> int:
                answered = rng.random() < 0.7
                return await store.log_interaction(
                    scope=scope,
                    via=rng.choices(ways, weights)[0],
                    question=question,
                    answers=[
                        LoggedAnswer(
                            rng.randrange(1, 200_000),
                            rng.randrange(1, 2_000),
                            rng.randrange(1, 400),
                            rng.uniform(5.0, 40.0),
                        )
                        for _ in range(top_k if answered else 0)
                    ],
                    latency_ms=rng.uniform(1.0, 80.0),
                    channel_id=rng.choice(channels),
                    user_id=rng.choice(members),
                )

            ids = await asyncio.gather(*(ask(q) for q in asked[start : start + 200]))
            for interaction_id in ids:
                if rng.random() < 0.05:  # one answer in twenty gets a 👍 or 👎
                    await store.record_feedback(
                        interaction_id, rng.choice(members), rng.choice((1, -1))
                    )
                    votes += 1
    return total, votes, sum(map(len, asked)) / total


async def purge_oldest(path: Path, keep: float) -> int:
    """Delete all but the newest `keep` share of the rows, as a retention purge does."""
    async with open_store(path) as store:
        [newest] = await store.interactions(None, limit=1)
        row = await store.get_interaction(newest.id - round(newest.id * min(keep, 1.0)) + 1)
        assert row is not None
        return await store.purge_log_before(row.asked_at)


async def convert(path: Path) -> float:
    """Seconds to open a copy made without incremental vacuum (a database from before)."""
    old = sqlite3.connect(path)
    old.execute("PRAGMA auto_vacuum = NONE")
    old.execute("VACUUM")
    old.close()
    started = time.perf_counter()
    async with open_store(path):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=1000, help="questions a day")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--retention", type=int, default=90, help="days a purge keeps")
    parser.add_argument("--work", type=Path, help="folder for the database (default: a temp one)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="verbatim-log-size-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "year.db"
    for leftover in work.glob("year.db*"):
        leftover.unlink()

    started = time.perf_counter()
    rows, votes, mean = asyncio.run(write_year(path, args.per_day, args.days, args.seed))
    year = file_size(path)
    print(
        f"{rows:,} questions ({args.per_day:,} a day for {args.days} days, mean {mean:.0f} "
        f"characters), {votes:,} votes: {year / 1e6:.1f} MB ({year / rows:.0f} bytes a question); "
        f"written in {time.perf_counter() - started:.0f} s"
    )
    before = work / "before.db"
    shutil.copyfile(path, before)
    seconds = asyncio.run(convert(before))
    print(f"opening it as made before incremental vacuum (converting it once): {seconds:.1f} s")
    before.unlink()
    removed = asyncio.run(purge_oldest(path, args.retention / args.days))
    kept = file_size(path)
    print(f"retention {args.retention} days: {removed:,} deleted, file now {kept / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
