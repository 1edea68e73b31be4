"""Load the public evaluation sets (read in place from ../shared/eval) in the shape we rank."""

from __future__ import annotations

import bisect
import json
import os
from dataclasses import dataclass
from pathlib import Path

from retrieval.extract import extract_text
from retrieval.sentences import split_sentence_spans

EVAL_DIR = Path(
    os.environ.get("VERBATIM_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval")
)


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """A question, the sentences holding its answer, and its paragraph's sentence range."""

    text: str
    answers: frozenset[int]
    paragraph: range


@dataclass(frozen=True, slots=True)
class SquadArticle:
    """One Wikipedia article split by Verbatim's pipeline, with its questions."""

    title: str
    text: str
    sentences: list[str]
    questions: list[SquadQuestion]


@dataclass(frozen=True, slots=True)
class SelqaQuestion:
    """A question, its candidate sentences (one Wikipedia section) and the correct ones."""

    text: str
    article: str
    candidates: list[str]
    answers: frozenset[int]
    q_types: tuple[str, ...]


def load_squad(path: Path | None = None) -> list[SquadArticle]:
    """SQuAD v1.1 dev: each article extracted and split as a plain-text upload would be.

    The correct sentences of a question are those holding the start of any annotator's
    answer span.
    """
    data = json.loads((path or EVAL_DIR / "squad" / "dev-v1.1.json").read_text("utf-8"))
    return [_squad_article(article) for article in data["data"]]


def _squad_article(article: dict) -> SquadArticle:
    contexts = [paragraph["context"] for paragraph in article["paragraphs"]]
    raw = "\n\n".join(contexts)
    extracted = extract_text(raw.encode("utf-8"), filename="article.txt")
    text = extracted.text
    # Find each paragraph in the extracted text (extraction may drop a title-like first line).
    offsets: list[int] = []
    cursor = 0
    for context in contexts:
        found = text.find(context, cursor)
        offsets.append(found)
        if found >= 0:
            cursor = found + len(context)
    spans = split_sentence_spans(text)
    starts = [start for start, _ in spans]
    sentences = [" ".join(text[start:end].split()) for start, end in spans]

    def sentence_at(position: int) -> int:
        return max(0, bisect.bisect_right(starts, position) - 1)

    questions: list[SquadQuestion] = []
    for paragraph, offset in zip(article["paragraphs"], offsets, strict=True):
        if offset < 0:
            continue
        first = sentence_at(offset)
        last = sentence_at(offset + len(paragraph["context"]) - 1)
        for qa in paragraph["qas"]:
            answers = frozenset(sentence_at(offset + a["answer_start"]) for a in qa["answers"])
            questions.append(SquadQuestion(qa["question"], answers, range(first, last + 1)))
    return SquadArticle(article["title"], text, sentences, questions)


def load_selqa(split: str) -> list[SelqaQuestion]:
    """SelQA answer sentence selection, split "dev" or "test"."""
    path = EVAL_DIR / "selqa" / f"selqa-ass-{split}.json"
    return [
        SelqaQuestion(
            text=item["question"],
            article=item["article"],
            candidates=list(item["candidates"]),
            answers=frozenset(item["answers"]),
            q_types=tuple(item.get("q_types", ())),
        )
        for item in json.loads(path.read_text("utf-8"))
    ]


def load_golden_rules() -> list[dict]:
    """The 48 English Golden Rules: id, name, text and the expected sentences."""
    return json.loads((EVAL_DIR / "golden_rules_en.json").read_text("utf-8"))["rules"]
