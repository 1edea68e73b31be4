"""Choose k1, b and re-ranking weights on the tuning data only: SelQA dev and half of SQuAD.

SQuAD's articles alternate between halves: even positions tune, odd positions are held out
(and reported separately by quality.py). SelQA test is never used here.

    python benchmarks/quality_tune.py --stage bm25      # k1 x b grid, no re-ranking (~5 min)
    python benchmarks/quality_tune.py --stage rerank    # weights around the shipped ones (~5 min)

SelQA dev is ranked per question here (candidates only), a little below quality.py's figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time

import numpy as np
from quality_data import load_selqa, load_squad
from quality_metrics import mean_metrics, question_metrics
from quality_rank import Engine, EngineConfig

from retrieval.rerank import NO_RERANK, RerankWeights


def squad_tune_half() -> list:
    """The tuning half of SQuAD dev: the articles at even positions."""
    return load_squad()[0::2]


def evaluate(config: EngineConfig, squad: list, selqa: list) -> dict[str, float]:
    """Article-level acc@1 and MRR on the SQuAD half, and MAP on SelQA dev."""
    rng = np.random.default_rng(5)
    analyzer = config.analyzer()
    rows = []
    for article in squad:
        engine = Engine(article.sentences, config, analyzer)
        for question in article.questions:
            rows.append(question_metrics(engine.scores(question.text), question.answers, rng))
    squad_metrics = mean_metrics(rows)
    rows = []
    for question in selqa:
        engine = Engine(question.candidates, config, analyzer)
        rows.append(question_metrics(engine.scores(question.text), question.answers, rng))
    selqa_metrics = mean_metrics(rows)
    return {
        "squad_acc1": squad_metrics.acc1,
        "squad_mrr": squad_metrics.mrr,
        "selqa_map": selqa_metrics.map,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", choices=["bm25", "rerank"], default="bm25")
    parser.add_argument("--k1", type=float, default=0.9)
    parser.add_argument("--b", type=float, default=0.75)
    args = parser.parse_args()
    squad = squad_tune_half()
    selqa = load_selqa("dev")
    if args.stage == "bm25":
        grid = itertools.product([0.6, 0.9, 1.2, 1.5], [0.3, 0.5, 0.75, 0.9])
        configs = [EngineConfig(f"k1={k1} b={b}", k1=k1, b=b, weights=NO_RERANK) for k1, b in grid]
    else:
        base = EngineConfig("rerank", k1=args.k1, b=args.b)
        configs = []
        for answer_type, neighbours, phrase in itertools.product(
            [0.2, 0.4, 0.6], [0.1, 0.15, 0.2], [0.2, 0.4]
        ):
            weights = RerankWeights(answer_type, 0.2, phrase, neighbours, candidates=12)
            configs.append(dataclasses.replace(base, name=str(weights), weights=weights))
    for config in configs:
        started = time.perf_counter()
        result = evaluate(config, squad, selqa)
        elapsed = time.perf_counter() - started
        figures = " ".join(f"{key} {value:.4f}" for key, value in result.items())
        print(f"{config.name:60s} {figures}  ({elapsed:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
