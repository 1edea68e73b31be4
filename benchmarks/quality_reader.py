"""The reader on the public ranking sets: today's ranking and the reader, side by side.

    python benchmarks/quality_reader.py [--out benchmarks/results/quality_reader.md]

SQuAD v1.1 dev (each question over its whole article, and within its paragraph) and SelQA
test, as benchmarks/quality.py measures them, for the words-only ranking Verbatim shipped
before the reader, and for the same ranking with the embedder's nearest sentences and the
reader over its best candidates (quality_rank.ReaderEngine). Held-out: SQuAD's odd-position
articles, never tuned on.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

from quality import run_selqa, run_squad, shipped_config
from quality_data import load_selqa, load_squad
from quality_rank import Engine, ReaderEngine

from bot.config import RetrievalSettings
from retrieval.embedder import Embedder
from retrieval.reader import Reader

RESULTS = Path(__file__).resolve().parent / "results" / "quality_reader.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--limit", type=int, default=None, help="SQuAD articles (for a try)")
    args = parser.parse_args()
    squad = load_squad()[: args.limit]
    selqa = load_selqa("test")
    config = shipped_config()
    analyzer = config.analyzer()
    decision = RetrievalSettings().decision()
    reader = Reader()
    systems = {
        "words only (before the reader)": partial(Engine, config=config, analyzer=analyzer),
        "with the embedder and the reader (shipped)": partial(
            ReaderEngine,
            config=config,
            analyzer=analyzer,
            reader=reader,
            decision=decision,
            embedder=Embedder(),
        ),
    }
    lines = [
        "# The reader on the public ranking sets",
        "",
        f"Written by `benchmarks/quality_reader.py` on {time.strftime('%Y-%m-%d %H:%M')}. "
        f"Decision: `{decision}`.",
        "",
        "| ranking | SQuAD acc@1 (held-out) | SQuAD MRR (held-out) | paragraph acc@1 "
        "| SelQA test MAP | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, make in systems.items():
        started = time.perf_counter()
        squad_result = run_squad(squad, make)
        selqa_result = run_selqa(selqa, make, per_article=True)
        seconds = time.perf_counter() - started
        row = (
            f"| {name} | {squad_result.article.acc1:.3f} ({squad_result.held_out.acc1:.3f}) "
            f"| {squad_result.article.mrr:.3f} ({squad_result.held_out.mrr:.3f}) "
            f"| {squad_result.paragraph.acc1:.3f} | {selqa_result.map:.3f} | {seconds:.0f} |"
        )
        print(row, flush=True)
        lines.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
