"""The CLI at a real terminal (a pseudo-terminal): chat's line editing, Ctrl-C and Ctrl-D, and
the progress bar, which shows there and nowhere else."""

import json
import os
from pathlib import Path

from tests.bot.cli.test_commands import VERBATIM, run
from tests.conftest import ROOT, SEED_ANSWER, SEED_QUESTION
from tests.terminal import CTRL_A, CTRL_C, CTRL_D, ENTER, UP, Terminal


def at_a_terminal(db: Path, *args: str) -> Terminal:
    env = {**os.environ, "VERBATIM_DB": str(db)}
    env.pop("VERBATIM_CONFIG", None)
    return Terminal([VERBATIM, *args], env=env, cwd=ROOT)


def logged_questions(db: Path) -> list[str]:
    lines = run(db, "log", "--format", "jsonl").stdout.splitlines()
    return [json.loads(line)["question"] for line in reversed(lines)]


def test_ctrl_c_ends_chat_at_once_in_the_middle_of_a_line(db_path):
    with at_a_terminal(db_path, "chat") as terminal:
        terminal.expect("> ")
        terminal.send("how many Spec")
        terminal.expect("how many Spec")
        # At once after the last key, no Enter: it used to wait for one, and a Ctrl-C landing
        # before readline waited for the next key was lost (bot/cli/asking.py wakes it).
        terminal.send(CTRL_C)
        assert terminal.wait(timeout=15) == 0
        assert "Traceback" not in terminal.output and "Aborted" not in terminal.output
    assert logged_questions(db_path) == []


def test_ctrl_d_ends_chat(db_path):
    with at_a_terminal(db_path, "chat") as terminal:
        terminal.expect("> ")
        terminal.send(SEED_QUESTION + ENTER)
        terminal.expect(SEED_ANSWER)
        terminal.expect("> ")
        terminal.send(CTRL_D)
        assert terminal.wait(timeout=15) == 0
        assert "Traceback" not in terminal.output
    assert logged_questions(db_path) == [SEED_QUESTION]


def test_chat_edits_the_line_and_recalls_earlier_questions(db_path):
    with at_a_terminal(db_path, "chat") as terminal:
        terminal.expect("> ")
        # Typed without its first letter, which Ctrl-A (start of line) then puts in place.
        terminal.send(SEED_QUESTION[1:] + CTRL_A + SEED_QUESTION[0] + ENTER)
        terminal.expect(SEED_ANSWER)
        terminal.expect("> ")
        terminal.send(UP + ENTER)  # the same question again, from the history
        terminal.expect(SEED_ANSWER)
        terminal.expect("> ")
        terminal.send(ENTER)  # an empty line ends it too
        assert terminal.wait(timeout=15) == 0
    assert logged_questions(db_path) == [SEED_QUESTION, SEED_QUESTION]


def test_the_progress_bar_shows_on_a_terminal_and_not_when_redirected(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"Rule {name}\nThe {name} rule is kept here.\n")
    with at_a_terminal(tmp_path / "terminal.db", "docs", "add", str(folder)) as terminal:
        assert terminal.wait(timeout=60) == 0
        assert "100%" in terminal.output and "3/3" in terminal.output
        assert "3 added, 0 already here, 0 failed" in terminal.output
    redirected = run(tmp_path / "redirected.db", "docs", "add", str(folder))
    assert redirected.stderr == ""
    assert redirected.stdout == "3 added, 0 already here, 0 failed\n"
