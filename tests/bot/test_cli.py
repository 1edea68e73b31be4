"""The CLI run as a user runs it: the installed `verbatim` command, a real database file."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import SEED_ANSWER, SEED_QUESTION

# The command this interpreter's environment installed (beside it in the venv's bin), not
# whichever `verbatim` comes first on PATH: that may be another environment's, or stale.
_BESIDE = Path(sys.executable).with_name("verbatim")
VERBATIM = str(_BESIDE) if _BESIDE.exists() else shutil.which("verbatim") or ""


def run(db: Path, *args: str, input: str | None = None, check: bool = True):
    command = [VERBATIM] if VERBATIM else [sys.executable, "-m", "bot"]
    env = {**os.environ, "VERBATIM_DB": str(db)}
    env.pop("VERBATIM_CONFIG", None)
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, input=input, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_ask_answers_the_seed_question_with_a_citation(db_path):
    out = run(db_path, "ask", SEED_QUESTION).stdout
    assert SEED_ANSWER in out
    assert (
        "[1] United States plans coalition meeting on battle against ISIS — sentence 17 "
        "(seeds/coalition-meeting-isis.txt)" in out
    )


def test_ask_json_has_exactly_the_documented_shape(db_path):
    data = json.loads(run(db_path, "ask", "--json", "--top-k", "2", SEED_QUESTION).stdout)
    assert set(data) == {"question", "answered", "answers"}
    assert data["question"] == SEED_QUESTION and data["answered"] is True
    assert 1 <= len(data["answers"]) <= 2
    first = data["answers"][0]
    assert set(first) == {"text", "score", "sentence", "document"}
    assert first["text"] == SEED_ANSWER and first["sentence"] == 17
    assert isinstance(first["score"], float) and first["score"] > 0
    assert set(first["document"]) == {"id", "title", "source"}


def test_unanswerable_question_says_not_found(db_path):
    result = run(db_path, "ask", "what is the best recipe for banana bread?")
    assert "Not found in the documents" in result.stdout
    data = json.loads(
        run(db_path, "ask", "--json", "what is the best recipe for banana bread?").stdout
    )
    assert data == {
        "question": "what is the best recipe for banana bread?",
        "answered": False,
        "answers": [],
    }


def test_docs_add_list_show_replace_remove_and_log(db_path, tmp_path):
    doc = tmp_path / "kettle.md"
    doc.write_text("# Kettle manual\n\nThe kettle boils water in ninety seconds.\n")
    added = run(db_path, "docs", "add", str(doc), "--scope", "7").stdout
    assert "added document 2 'Kettle manual', 2 sentences" in added
    assert "Kettle manual" in run(db_path, "docs", "list", "--scope", "7").stdout
    assert "2. The kettle boils water" in run(db_path, "docs", "show", "2", "--scope", "7").stdout
    answer = run(db_path, "ask", "--scope", "7", "how fast does the kettle boil water?").stdout
    assert "The kettle boils water in ninety seconds." in answer

    again = run(db_path, "docs", "add", str(doc), "--scope", "7", check=False)
    assert again.returncode != 0
    assert again.stderr.strip() == (
        "verbatim: This content is already here as document 2, 'Kettle manual'."
    )

    doc.write_text("# Kettle manual\n\nThe kettle boils water in forty seconds.\n")
    assert (
        "replaced document 2"
        in run(db_path, "docs", "replace", "2", str(doc), "--scope", "7").stdout
    )
    answer = run(db_path, "ask", "--scope", "7", "how fast does the kettle boil water?").stdout
    assert "forty seconds" in answer and "ninety" not in answer

    assert "removed document 2" in run(db_path, "docs", "remove", "2", "--scope", "7").stdout
    assert "kettle" not in run(db_path, "ask", "--scope", "7", "kettle boil water").stdout

    log = run(db_path, "log", "--format", "jsonl").stdout.splitlines()
    assert len(log) == 3 and all(json.loads(line)["via"] == "cli" for line in log)
    unanswered = run(db_path, "log", "--unanswered", "--format", "csv").stdout.splitlines()
    assert unanswered[0].startswith("id,asked_at,scope") and len(unanswered) == 2


def test_docs_add_a_folder_with_progress(db_path, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha\nThe alpha rule is simple.\n")
    (folder / "b.html").write_text("<title>Beta</title><p>The beta rule is strict.</p>")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    out = run(db_path, "docs", "add", str(folder)).stdout
    assert "'Alpha'" in out and "'Beta'" in out


def test_chat_answers_line_by_line(db_path):
    out = run(db_path, "chat", input=f"{SEED_QUESTION}\nbanana bread recipe\n").stdout
    assert SEED_ANSWER in out and "Not found in the documents" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", ""), "verbatim: Ask a question: the text is empty."),
        (("docs", "show", "99"), "verbatim: There is no document 99 here."),
        (("docs", "remove", "99"), "verbatim: There is no document 99 here."),
        (("--config", "/nonexistent.toml", "ask", "x"), "does not exist"),
    ],
)
def test_user_errors_are_one_line_without_traceback(db_path, args, message):
    result = run(db_path, *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_file_is_one_line(db_path, tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    result = run(db_path, "docs", "add", str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "verbatim: The PDF could not be read (it may be damaged or not really a PDF)."
    )


def test_every_command_has_help():
    # In-process: help text needs no database, and a process per command is slow.
    runner = CliRunner()
    for command in (
        (),
        ("ask",),
        ("chat",),
        ("docs",),
        ("docs", "add"),
        ("docs", "list"),
        ("docs", "show"),
        ("docs", "remove"),
        ("docs", "replace"),
        ("log",),
    ):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_a_one_sentence_document_is_counted_in_the_singular(db_path, tmp_path):
    doc = tmp_path / "note.txt"
    doc.write_text("The spare key is under the third flowerpot.\n")
    added = run(db_path, "docs", "add", str(doc), "--scope", "7").stdout
    assert "1 sentence\n" in added
    assert "(1 sentence," in run(db_path, "docs", "list", "--scope", "7").stdout
