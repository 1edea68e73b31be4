"""What members and documents wrote reaches the terminal as text: no escape sequence is run."""

import json
import unicodedata

from bot.cli.terminal import json_line, printable
from tests.bot.cli.test_commands import run

# Set the window title, write the clipboard (OSC 52), clear the screen, the same with C1's
# one-character CSI, and a right-to-left override that makes a line read otherwise.
TITLE = "\x1b]0;you have been pwned\x07"
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"
RTL = "\u202egnp.exe"
HOSTILE = TITLE + CLIPBOARD + CLEAR + C1_CSI + RTL


def raw_controls(text: str) -> list[str]:
    """Control characters a terminal would act on (line ends aside) and bidi overrides."""
    return [
        c
        for c in text
        if (unicodedata.category(c) == "Cc" and c != "\n")
        or unicodedata.bidirectional(c)
        in {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
    ]


def test_printable_shows_control_characters_and_keeps_the_rest():
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("one\ntwo\tthree\r\nfour") == "one two three  four"
    assert printable("\x9b31m\x7f") == "\\x9b31m\\x7f"
    assert printable("\u202eabc\u2066") == "\\u202eabc\\u2066"
    kept = "Café — naïve 日本語 👨\u200d👩\u200d👧 \\ already"
    assert printable(kept) == kept
    assert raw_controls(printable(HOSTILE)) == []


def test_json_line_keeps_the_text_without_raw_control_characters():
    line = json_line({"q": HOSTILE + "\u2028\x85"})
    assert raw_controls(line) == [] and "\u2028" not in line
    assert json.loads(line) == {"q": HOSTILE + "\u2028\x85"}


def test_every_human_readable_output_escapes_what_members_and_documents_wrote(db_path, tmp_path):
    doc = tmp_path / "kettle.txt"
    doc.write_text(
        f"The kettle boils water in ninety seconds {HOSTILE}.\n\n"
        "The kettle switches itself off when the water boils.\n",
        encoding="utf-8",
    )
    title = f"Kettle{RTL}{TITLE}"
    added = run(db_path, "docs", "add", str(doc), "--title", title, "--scope", "7")
    question = f"how fast does the kettle boil water? {CLIPBOARD}{CLEAR}"
    asked = run(db_path, "ask", "--scope", "7", question)
    as_json = run(db_path, "ask", "--scope", "7", "--json", question)
    chat = run(db_path, "chat", "--scope", "7", input=f"{question}\n{HOSTILE}\n")
    listed = run(db_path, "docs", "list", "--scope", "7")
    shown = run(db_path, "docs", "show", "2", "--scope", "7")
    again = run(db_path, "docs", "add", str(doc), "--scope", "7", check=False)
    table = run(db_path, "log")
    jsonl = run(db_path, "log", "--format", "jsonl")
    removed = run(db_path, "docs", "remove", "2", "--scope", "7")

    outputs = [added, asked, as_json, chat, listed, shown, again, table, jsonl, removed]
    found = {
        f"{n}: {' '.join(r.args[1:4])}": raw_controls(r.stdout + r.stderr)
        for n, r in enumerate(outputs)
    }
    assert found == dict.fromkeys(found, [])
    # Shown, not dropped: the moderator sees that something odd was there. (Extraction already
    # drops a document's control characters, not its bidi overrides; the log keeps questions
    # as typed.)
    assert "\\x1b]52;c;" in table.stdout and "\\x1b[2J" in table.stdout
    for result in (asked, chat, shown):
        assert "seconds ]0;you have been pwned]52;c;" in result.stdout
        assert "\\u202egnp.exe" in result.stdout
    assert "Kettle\\u202egnp.exe" in listed.stdout and "Kettle\\u202egnp.exe" in again.stderr
    assert "Kettle\\u202egnp.exe" in added.stdout and "Kettle\\u202egnp.exe" in removed.stdout
    # JSON keeps the text exactly.
    answer = json.loads(as_json.stdout)
    assert answer["question"] == question.strip()
    assert RTL in answer["answers"][0]["text"] and RTL in answer["answers"][0]["document"]["title"]
    assert [json.loads(line)["question"] for line in jsonl.stdout.splitlines()][-3:] == [
        question.strip(),
        question.strip(),
        question.strip(),
    ]
