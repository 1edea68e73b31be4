"""`verbatim ask` and `verbatim chat`: questions answered in the terminal, with citations."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import click

from bot.cli.context import CliContext, run_async, scope_option
from bot.cli.root import cli
from bot.cli.terminal import json_line, printable
from bot.engine.library import AskResult
from bot.errors import VerbatimError
from retrieval.answer import Hit


@cli.command()
@click.argument("question")
@click.option("--top-k", type=click.IntRange(1, 50), help="How many sentences at most.")
@scope_option("Scope (server id) to search, besides the global seeds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_obj
@run_async
async def ask(obj: CliContext, question: str, top_k: int | None, scope: int, as_json: bool) -> None:
    """Answer QUESTION from the documents, with citations, and log it."""
    async with obj.open_library() as library:
        result = await library.ask(question, scope=scope, via="cli", top_k=top_k)
    if as_json:
        click.echo(json_line(answer_json(result)))
    else:
        click.echo(format_answer(result))


@cli.command()
@scope_option("Scope (server id) to search, besides the global seeds.")
@click.pass_obj
def chat(obj: CliContext, scope: int) -> None:
    """Ask one question after another (an empty line, Ctrl-D or Ctrl-C ends the session)."""
    interactive = sys.stdin.isatty()
    if interactive:
        _edit_lines()
        click.echo("Ask a question; an empty line, Ctrl-D or Ctrl-C ends the session.")
    # Lines are read here, in the main thread, while the event loop waits: input() then
    # edits them with readline and Ctrl-C interrupts it at once. (Read in a worker thread,
    # Ctrl-C only cancelled the loop, which then waited for that thread, so for Enter.) The
    # loop runs while a question is answered, and a Ctrl-C then stops the answer.
    with asyncio.Runner() as runner:
        session = obj.open_library()
        library = runner.run(session.__aenter__())
        try:
            while True:
                with _ctrl_c_reaches_readline(interactive):
                    line = input("> " if interactive else "")
                if not line.strip():
                    break
                try:
                    result = runner.run(library.ask(line, scope=scope, via="chat"))
                except VerbatimError as error:
                    click.echo(printable(error.message), err=True)
                    continue
                click.echo(format_answer(result))
                click.echo()
        except (EOFError, KeyboardInterrupt):
            if interactive:
                click.echo()  # the shell's prompt starts on a line of its own
        finally:
            runner.run(session.__aexit__(None, None, None))


# How often readline, waiting for a key, is woken to look for a Ctrl-C.
_WAKE_SECONDS = 0.1


@contextmanager
def _ctrl_c_reaches_readline(interactive: bool) -> Iterator[None]:
    """Wake readline while it waits for a key, so that a Ctrl-C always ends the line.

    Python's readline looks for a pending signal only when its wait for a key is interrupted.
    A Ctrl-C that lands just before that wait (while a key is still being drawn, or while a
    busy machine has not run the process yet) is noted but not acted on until the next key.
    A timer signal interrupts the wait every 0.1 s, and the pending Ctrl-C is then raised.
    """
    if not interactive or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, lambda _signal, _frame: None)
    signal.setitimer(signal.ITIMER_REAL, _WAKE_SECONDS, _WAKE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _edit_lines() -> None:
    """Give input() line editing and this session's history (readline: not on Windows)."""
    with suppress(ImportError):
        import readline  # noqa: F401  (importing it is what hooks it into input())


def answer_json(result: AskResult) -> dict[str, Any]:
    """The --json shape: question, answered, confidence, the answer and the closest passages."""
    answer = result.answer
    return {
        "question": answer.question,
        "answered": answer.answered,
        "confidence": answer.confidence,
        "answers": [_hit_json(hit) for hit in answer.hits],
        "closest": [_hit_json(hit) for hit in answer.closest],
    }


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "text": hit.sentence.text,
        "score": hit.score,
        "sentence": hit.sentence.position,
        "section": hit.section.text if hit.section is not None else None,
        "document": {
            "id": hit.sentence.document.id,
            "title": hit.sentence.document.title,
            "source": hit.sentence.document.source,
        },
    }


NOT_FOUND = "Not found in the documents: none of them answers this well enough."
NOT_SURE = "Not sure: the documents may not answer this. The closest passages:"


def format_answer(result: AskResult) -> str:
    """The answer as terminal text: each sentence, then its numbered citation."""
    answer = result.answer
    if answer.answered:
        return _quoted(answer.hits)
    if answer.closest:
        return f"{NOT_SURE}\n{_quoted(answer.closest)}"
    return NOT_FOUND


def _quoted(hits: Sequence[Hit]) -> str:
    lines = []
    for number, hit in enumerate(hits, 1):
        document = hit.sentence.document
        source = f" ({printable(document.source)})" if document.source else ""
        section = f" › {printable(hit.context.text)}" if hit.context is not None else ""
        if hit.before is not None:
            lines.append(click.style(printable(hit.before.text), dim=True))
        lines.append(printable(hit.sentence.text))
        if hit.after is not None:
            lines.append(click.style(printable(hit.after.text), dim=True))
        lines.append(
            f"  [{number}] {printable(document.title)}{section} — "
            f"sentence {hit.sentence.position}{source}"
        )
    return "\n".join(lines)
