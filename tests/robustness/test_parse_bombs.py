"""Uploads built to make a parser explode (Markdown that is all markup, HTML that multiplies its
elements) are refused, and ordinary Markdown at the size limit is read, each within a CPU and
memory cap: each runs in a child process (tests/robustness/bomb_child.py) whose caps kill it if
a parse runs away, so a regression fails instead of hanging or eating the machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.robustness.bomb_child import UPLOADS

# Wall time as a last resort only (the child's CPU cap is what fails a runaway parse first).
TIMEOUT = 180

REFUSALS = {
    "md stars at the byte limit": "text is too long",
    "md stars under the character limit": "too much markup",
    "md brackets under the character limit": "too much markup",
    "md links under the character limit": "too much markup",
    "md table under the character limit": "too much markup",
    "html paragraphs at the byte limit": "more than 500,000 elements",
    "html comments at the byte limit": "more than 500,000 elements",
    "html reopened formatting": "more than 500,000 elements",
    "html in markdown": "more than 500,000 elements",
}


def run_child(name: str) -> tuple[str, str]:
    """What became of the upload (its first line) and the time and peak memory it took."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.robustness.bomb_child", name],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    outcome, took = done.stdout.strip().splitlines()
    print(f"{name}: {outcome[:60]} ({took})")
    return outcome, took


def test_every_upload_is_checked():
    assert set(REFUSALS) | {"md ordinary under the character limit"} == set(UPLOADS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_parse_bomb_is_refused_within_the_caps(name):
    outcome, _ = run_child(name)
    assert outcome.startswith("refused ") and REFUSALS[name] in outcome, outcome


def test_ordinary_markdown_at_the_size_limit_is_read_within_the_caps():
    outcome, _ = run_child("md ordinary under the character limit")
    assert outcome.startswith("read ") and int(outcome.split()[1]) > 10_000, outcome
