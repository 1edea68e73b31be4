"""Follow-up questions ("and in Syria?"): when one leans on an earlier one, and their answers."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from retrieval.analyzer import Analyzer
from retrieval.answer import Answer, Hit, Outcome, answer_question
from retrieval.index import SentenceIndex

# Openings that carry a question over from the one before ("and in Syria?", "what about X?").
_CONNECTIVES = re.compile(
    r"^(?:and|but|or|also|so|then|what about|how about|and what about|same for|what of)\b\s*"
)
# Words that point back at something named earlier ("how long does it take?").
_REFERRING = frozenset(
    "it its they them their theirs there that this those these he him his she her one ones".split()
)
# A follow-up with at most this many index terms of its own says too little alone.
SHORT_TERMS = 2
_WORD = re.compile(r"[^\W_]+")


def _own_text(question: str, analyzer: Analyzer) -> str:
    """The follow-up without its opening connective: the words it adds of its own."""
    return _CONNECTIVES.sub("", analyzer.normalize(question).strip(), count=1)


def needs_context(question: str, analyzer: Analyzer) -> bool:
    """Whether a question is short or leans on an earlier one (and so needs it for ranking)."""
    folded = analyzer.normalize(question).strip()
    words = _WORD.findall(folded)
    if not words:
        return False
    if _CONNECTIVES.match(folded) or any(word in _REFERRING for word in words):
        return True
    return len(analyzer.analyze(question)) <= SHORT_TERMS


def answer_follow_up(
    question: str,
    earlier: str,
    index: SentenceIndex,
    analyzer: Analyzer,
    *,
    top_k: int,
    **options: Any,
) -> Answer:
    """answer_question for a follow-up, ranked with the earlier question's words as context.

    The sentences are ranked for both questions together, and only those holding at least one
    word the follow-up adds to the earlier question (when it adds any) are kept, so "what about
    windows?" after a question on Linux answers about Windows. The answer is the follow-up's
    (its question and its quoted sentences); the earlier question is never quoted, only used
    to rank.
    """
    own = set(analyzer.analyze(_own_text(question, analyzer))) - set(analyzer.analyze(earlier))
    # More candidates than shown, since some may lack the follow-up's words.
    combined = answer_question(
        f"{question}\n{earlier}", index, analyzer, top_k=top_k * 3 if own else top_k, **options
    )
    def adds(hit: Hit) -> bool:
        return not own or bool(own.intersection(analyzer.analyze(hit.sentence.text)))

    hits = tuple(hit for hit in combined.hits if adds(hit))[:top_k]
    closest = tuple(hit for hit in combined.closest if adds(hit))[:top_k]
    # Answered only if an answering sentence holds the follow-up's own words.
    outcome = (
        Outcome.ANSWERED if hits else Outcome.NOT_SURE if closest else Outcome.NOT_FOUND
    )
    return dataclasses.replace(
        combined, question=question, hits=hits, closest=closest, outcome=outcome
    )
