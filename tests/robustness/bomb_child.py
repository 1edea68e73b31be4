"""A child process for the parse-bomb tests: reads one hostile upload under memory and CPU caps.

Run as `python -m tests.robustness.bomb_child NAME`. It caps its own address space and CPU time,
then builds the upload NAME (see UPLOADS) and sends it through the real preparation of
an upload (size limit, extraction, splitting, analysis: bot.engine.documents.prepare_document), and
prints one line: "refused <message>" or "read <sentences>", then "took <seconds> <peak MB>".
A parse that runs past the caps dies (MemoryError, or SIGXCPU), so a regression fails fast.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable

from bot.config import DocumentSettings
from bot.engine.documents import prepare_document
from bot.errors import DocumentRejectedError
from retrieval import Analyzer
from retrieval.extract.limits import MAX_TEXT_CHARS

# Ample for the interpreter, NLTK and NumPy (about 200 MB of address space) plus a few hundred
# MB of work; the bombs took 2-6 GB. CPU time is not stretched by a busy machine as wall time is.
ADDRESS_SPACE = 800_000_000
CPU_SECONDS = 40
BYTE_LIMIT = DocumentSettings().max_bytes


def repeated(unit: str, size: int, head: str = "") -> bytes:
    """`head`, then `unit` repeated to `size` characters (ASCII: as many bytes)."""
    return (head + unit * ((size - len(head)) // len(unit))).encode()


def ordinary_markdown(size: int) -> bytes:
    """Markdown as people write it: prose with headings, emphasis, links, lists, tables, code.

    About 80,000 parser steps a MB (retrieval.extract.limits.MAX_MARKDOWN_WORK), as many as this
    project's README; Node.js's API documentation takes 80,000-110,000.
    """
    section = (
        "## Ferry timetable {n}\n\n"
        "The *morning* ferry leaves **pier {n}** at seven o'clock from Monday to Saturday, and at "
        "nine on Sundays and public holidays; see [the harbour map](https://example.org/{n}) for "
        "the gate to use. Tickets cost four dollars for adults and two for children under twelve, "
        "and can be bought on board or at the kiosk by the harbour office.\n\n"
        "Crossings take forty minutes in calm weather. In a storm the harbour master may cancel "
        "them: notices are posted by six in the morning at the kiosk and on the website, and "
        "tickets for a cancelled crossing are refunded or valid on any later ferry that week. "
        "Passengers with reduced mobility can ask the crew for the ramp at either pier.\n\n"
        "- Bicycles travel on the lower deck.\n- Dogs must be on a lead.\n"
        "- Luggage over 20 kg goes in the hold, which the crew opens ten minutes before "
        "departure.\n\n"
        "{table}Run `ferry --pier {n}` to print the day's times:\n\n"
        "```\nferry --pier {n} --day monday\n```\n\n"
        "> The last ferry waits up to ten minutes for the evening train from the city, but not "
        "longer; the harbour office can call a taxi boat after that, at the night fare.\n\n"
    )
    table = "| Day | First | Last |\n|---|---|---|\n| Monday | 7:00 | 22:00 |\n\n"
    parts: list[str] = []
    total = 0
    n = 0
    while total < size:
        part = section.format(n=n, table="" if n % 4 else table)
        parts.append(part)
        total += len(part)
        n += 1
    return "".join(parts)[:size].encode()


UNDER = MAX_TEXT_CHARS - 1_000  # just under the character limit: the parse itself must be bounded
# name -> (file name, the upload)
UPLOADS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "md stars at the byte limit": ("b.md", lambda: repeated("*a", BYTE_LIMIT)),
    "md stars under the character limit": ("b.md", lambda: repeated("*a", UNDER)),
    "md brackets under the character limit": ("b.md", lambda: repeated("[", UNDER)),
    "md links under the character limit": ("b.md", lambda: repeated("![", UNDER)),
    "md table under the character limit": (
        "b.md",
        lambda: repeated("| x | y |\n", UNDER, head="| a | b |\n|---|---|\n"),
    ),
    "md ordinary under the character limit": ("ok.md", lambda: ordinary_markdown(UNDER)),
    "html paragraphs at the byte limit": ("b.html", lambda: repeated("<p>a", BYTE_LIMIT)),
    "html comments at the byte limit": ("b.html", lambda: repeated("<!--a-->", BYTE_LIMIT)),
    "html reopened formatting": (
        "b.html",
        lambda: repeated(
            "<p>x", BYTE_LIMIT, head="<p>" + "".join(f"<b class=c{i}>" for i in range(900))
        ),
    ),
    "html in markdown": ("b.md", lambda: repeated("<p>a", UNDER, head="<div>\n")),
}


def main(name: str) -> None:
    """Prepare the upload NAME and report what became of it."""
    # Here, not at import: the tests import this module for the names of the uploads.
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    filename, build = UPLOADS[name]
    data = build()
    started = time.perf_counter()
    try:
        prepared = prepare_document(
            data,
            filename=filename,
            content_type=None,
            title=None,
            analyzer=Analyzer(),
            max_bytes=BYTE_LIMIT,
        )
    except DocumentRejectedError as error:
        print(f"refused {error.message}", flush=True)
    else:
        print(f"read {len(prepared.sentences)}", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"took {time.perf_counter() - started:.1f} {peak_mb}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
