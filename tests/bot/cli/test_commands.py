"""The CLI run as a user runs it: the installed `verbatim` command, a real database file."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import RetrievalSettings
from bot.main import SERVICES
from tests.conftest import SEED_ANSWER, SEED_QUESTION
from tests.terminal import ctrl_c_as_a_shell_leaves_it

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
    assert set(data) == {"question", "answered", "confidence", "answers", "closest"}
    assert data["question"] == SEED_QUESTION and data["answered"] is True
    assert 0 <= data["confidence"] <= 1
    assert 1 <= len(data["answers"]) <= 2 and data["closest"] == []
    first = data["answers"][0]
    assert set(first) == {"text", "score", "sentence", "section", "document"}
    assert first["text"] == SEED_ANSWER and first["sentence"] == 17
    assert isinstance(first["score"], float) and first["section"] is None
    assert set(first["document"]) == {"id", "title", "source"}


def test_unanswerable_question_says_not_found(db_path):
    result = run(db_path, "ask", "what is the best recipe for banana bread?")
    assert "Not found in the documents" in result.stdout
    data = json.loads(
        run(db_path, "ask", "--json", "what is the best recipe for banana bread?").stdout
    )
    assert data["question"] == "what is the best recipe for banana bread?"
    assert data["answered"] is False and data["answers"] == [] and data["closest"] == []
    assert data["confidence"] < RetrievalSettings().closest_confidence


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


def make_folder(folder: Path) -> Path:
    """Two documents, a copy of the first, and a file of a type that is not read."""
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha\nThe alpha rule is simple.\n")
    (folder / "b.html").write_text("<title>Beta</title><p>The beta rule is strict.</p>")
    (folder / "c-copy.txt").write_text("Alpha\nThe alpha rule is simple.\n")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    return folder


def test_docs_add_a_folder_ends_with_one_line_and_lists_every_file_with_v(db_path, tmp_path):
    folder = make_folder(tmp_path / "docs")
    first = run(db_path, "docs", "add", str(folder))
    assert first.stdout == "2 added, 1 already here, 0 failed\n"
    assert first.stderr == ""  # not a terminal: no progress bar
    listed = run(db_path, "--db", str(tmp_path / "other.db"), "docs", "add", "-v", str(folder))
    assert listed.stdout.splitlines() == [
        f"added document 2 'Alpha', 1 sentence ({folder / 'a.txt'})",
        f"added document 3 'Beta', 1 sentence ({folder / 'b.html'})",
        f"already here: {folder / 'c-copy.txt'} is document 2 'Alpha'",
        "2 added, 1 already here, 0 failed",
    ]
    # The global -v lists them too (and logs to stderr).
    again = run(db_path, "-v", "docs", "add", str(folder))
    assert again.stdout.splitlines()[0] == f"already here: {folder / 'a.txt'} is document 2 'Alpha'"


def test_adding_a_folder_again_is_not_a_failure(db_path, tmp_path):
    folder = make_folder(tmp_path / "docs")
    run(db_path, "docs", "add", str(folder))
    again = run(db_path, "docs", "add", str(folder))
    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        "0 added, 3 already here, 0 failed\n",
        "",
    )


def test_a_folder_add_lists_each_failure_and_exits_1(db_path, tmp_path):
    folder = make_folder(tmp_path / "docs")
    (folder / "d-broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "e-empty.txt").write_text("  \n")
    result = run(db_path, "docs", "add", str(folder), check=False)
    assert result.returncode == 1
    assert result.stdout == "2 added, 1 already here, 2 failed\n"
    assert result.stderr.splitlines() == [
        f"failed {folder / 'd-broken.pdf'}: The PDF could not be read (it may be damaged or "
        "not really a PDF).",
        f"failed {folder / 'e-empty.txt'}: The document is empty.",
    ]


def test_a_folder_add_stopped_by_ctrl_c_is_finished_by_adding_it_again(db_path, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    total = 1500
    for number in range(total):
        (folder / f"{number:04}.txt").write_text(
            f"Note {number}\nThe river {number} is long and stone {number} is grey.\n"
        )
    command = [VERBATIM, "docs", "add", "-v", str(folder)]
    env = {**os.environ, "VERBATIM_DB": str(db_path)}
    env.pop("VERBATIM_CONFIG", None)
    adding = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=ctrl_c_as_a_shell_leaves_it,
    )
    assert adding.stdout is not None
    assert adding.stdout.readline().startswith("added document 2 'Note 0'")
    adding.send_signal(signal.SIGINT)
    # Read through the same buffered files (communicate() would skip what readline buffered).
    out, err = adding.stdout.read(), adding.stderr.read()
    assert adding.wait(timeout=60) == 130
    *listed, summary = out.splitlines()
    reported = 1 + len(listed)
    left = total - reported
    assert 0 < left < total
    assert summary == (
        f"{reported} added, 0 already here, 0 failed; stopped before {left:,} files "
        "(add the folder again to finish)"
    )
    assert "Traceback" not in err
    again = run(db_path, "docs", "add", str(folder))
    added, here = map(
        int, re.fullmatch(r"(\d+) added, (\d+) already here, 0 failed\n", again.stdout).groups()
    )
    # Every file reported is kept (a group being stored when stopped may be kept too).
    assert here >= reported and added + here == total
    documents = json.loads(run(db_path, "docs", "list", "--json").stdout)
    assert len(documents) == 1 + total


def test_version():
    result = subprocess.run([VERBATIM, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout == f"verbatim {version('verbatim-bot')}\n"


def test_docs_list_json(db_path, tmp_path):
    doc = tmp_path / "kettle.md"
    doc.write_text("# Kettle manual\n\nThe kettle boils water in ninety seconds.\n")
    assert json.loads(run(db_path, "docs", "list", "--json", "--scope", "7").stdout) == []
    run(db_path, "docs", "add", str(doc), "--scope", "7")
    [document] = json.loads(run(db_path, "docs", "list", "--json", "--scope", "7").stdout)
    added_at = document.pop("added_at")
    assert document.pop("updated_at") == added_at and added_at.startswith("20")
    assert document == {
        "id": 2,
        "scope": 7,
        "title": "Kettle manual",
        "source": str(doc),
        "kind": "markdown",
        "sentences": 2,
        "added_by": os.environ.get("USER", "cli"),
    }


def test_docs_replace_says_it_kept_the_title_or_takes_a_new_one(db_path, tmp_path):
    doc = tmp_path / "kettle.md"
    doc.write_text("# Kettle manual\n\nThe kettle boils water in ninety seconds.\n")
    run(db_path, "docs", "add", str(doc))
    doc.write_text("# Kettle manual, second edition\n\nThe kettle boils water in forty seconds.\n")
    kept = run(db_path, "docs", "replace", "2", str(doc)).stdout
    assert kept == (
        "replaced document 2 'Kettle manual', 2 sentences "
        "(kept its title; --title gives it a new one)\n"
    )
    renamed = run(db_path, "docs", "replace", "2", str(doc), "--title", "Kettle, 2nd ed.").stdout
    assert renamed == "replaced document 2 'Kettle, 2nd ed.', 2 sentences\n"
    [document] = [
        d for d in json.loads(run(db_path, "docs", "list", "--json").stdout) if d["id"] == 2
    ]
    assert document["title"] == "Kettle, 2nd ed."


def test_title_with_a_folder_is_refused(db_path, tmp_path):
    folder = make_folder(tmp_path / "docs")
    result = run(db_path, "docs", "add", str(folder), "--title", "One title", check=False)
    assert result.returncode == 2
    assert "--title names one file's document" in result.stderr
    assert run(db_path, "docs", "list", "--json").stdout.count('"id"') == 0


def test_bash_completion_script_completes_commands(tmp_path):
    script = subprocess.run(
        [VERBATIM],
        env={**os.environ, "_VERBATIM_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "complete " in script and "_verbatim_completion" in script
    (tmp_path / "verbatim.bash").write_text(script)
    # Sourced as a user's ~/.bashrc would, then asked what follows "verbatim docs re".
    completed = subprocess.run(
        [
            "bash",
            "--norc",
            "-c",
            f"source {tmp_path / 'verbatim.bash'}; COMP_WORDS=(verbatim docs re); COMP_CWORD=2; "
            '_verbatim_completion verbatim; echo "${COMPREPLY[@]}"',
        ],
        env={**os.environ, "PATH": f"{Path(VERBATIM).parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.split() == ["remove", "replace"]


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("latin-1", "Café crème\nThe café opens at seven; Müller’s is closed.\n"),
        ("cp1252", "Café “crème”\nThe café costs 5 € – Müller’s “Grüße” are free…\n"),
    ],
)
def test_latin_1_and_cp1252_files_are_added_and_kept_exactly(db_path, tmp_path, encoding, text):
    if encoding == "latin-1":
        text = text.replace("’", "'")  # Latin-1 has no curly quotes
    doc = tmp_path / "menu.txt"
    doc.write_text(text, encoding=encoding)
    title, body = text.splitlines()
    assert run(db_path, "docs", "add", str(doc), "--scope", "7").stdout == (
        f"added document 2 '{title}', 1 sentence\n"
    )
    assert f"   1. {body}\n" in run(db_path, "docs", "show", "2", "--scope", "7").stdout


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
        result = runner.invoke(cli, [*command, "--help"], obj=SERVICES)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_a_one_sentence_document_is_counted_in_the_singular(db_path, tmp_path):
    doc = tmp_path / "note.txt"
    doc.write_text("The spare key is under the third flowerpot.\n")
    added = run(db_path, "docs", "add", str(doc), "--scope", "7").stdout
    assert "1 sentence\n" in added
    assert "(1 sentence," in run(db_path, "docs", "list", "--scope", "7").stdout
