"""The `verbatim` command line: ask, chat, manage documents, review the log; no Discord."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings
from bot.errors import VerbatimError
from bot.export import interaction_json, interactions_csv
from bot.ingest import (
    FileOutcome,
    PreparePool,
    add_files,
    add_large_file,
    prepare_pool,
    workers_for,
)
from bot.library import AskResult, Library, supported_files
from bot.store import GLOBAL_SCOPE, StoredDocument, open_store
from bot.terminal import json_line, printable
from bot.wording import counted
from retrieval.answer import Hit
from retrieval.embedder import Embedder
from retrieval.reader import Reader

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class CliContext:
    """What the global options decided, handed to every command."""

    settings: Settings
    verbose: bool = False


def run_async(function: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Let a click command be an async function."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(function(*args, **kwargs))

    return wrapper


def scope_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --scope option of commands that work in one scope (the global one by default)."""
    return click.option("--scope", type=int, default=GLOBAL_SCOPE, show_default=True, help=help)


@asynccontextmanager
async def open_library(settings: Settings) -> AsyncIterator[Library]:
    """Open the database, seed a fresh one, and load every index: the one start-up path."""
    async with open_store(settings.storage.database) as store:
        library = Library(
            store,
            settings.retrieval,
            max_document_bytes=settings.documents.max_bytes,
            privacy=settings.privacy,
            reader=Reader(),
            embedder=Embedder(),
        )
        await library.purge_expired()
        await library.seed(settings.storage.seeds)
        await library.load()
        yield library


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "database",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VERBATIM_DB",
    help="SQLite database file (default: verbatim.db, or VERBATIM_DB).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VERBATIM_CONFIG",
    help="TOML config file (see config.example.toml).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log what happens to stderr.")
@click.version_option(
    package_name="verbatim-bot", prog_name="verbatim", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context, database: Path | None, config_path: Path | None, verbose: bool) -> None:
    """Verbatim answers questions by quoting the sentences of its documents, with citations."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pypdf warns about every malformed PDF; the user gets our one clear line instead.
    logging.getLogger("pypdf").setLevel(logging.INFO if verbose else logging.ERROR)
    settings = load_settings(config_path)
    if database is not None:
        settings = replace(settings, storage=replace(settings.storage, database=database))
    ctx.obj = CliContext(settings, verbose)


@cli.command()
@click.argument("question")
@click.option("--top-k", type=click.IntRange(1, 50), help="How many sentences at most.")
@scope_option("Scope (server id) to search, besides the global seeds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_obj
@run_async
async def ask(obj: CliContext, question: str, top_k: int | None, scope: int, as_json: bool) -> None:
    """Answer QUESTION from the documents, with citations, and log it."""
    async with open_library(obj.settings) as library:
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
        session = open_library(obj.settings)
        library = runner.run(session.__aenter__())
        try:
            while True:
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


def _edit_lines() -> None:
    """Give input() line editing and this session's history (readline: not on Windows)."""
    with suppress(ImportError):
        import readline  # noqa: F401  (importing it is what hooks it into input())


@cli.group()
def docs() -> None:
    """Add, list, show, replace and remove documents."""


@docs.command("add")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--title", help="Title to cite (default: the document's own title or file name); a file only."
)
@scope_option("Scope (server id) the document belongs to.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    help="Processes that prepare a folder's files, or a long file's paragraphs, in parallel "
    "(default: one per core when the files total 1 MB or more; 0: none).",
)
@click.option(
    "--verbose",
    "-v",
    "each_file",
    is_flag=True,
    help="For a folder: list every file (added, already here, failed), not only the failures.",
)
@click.pass_obj
@run_async
async def docs_add(
    obj: CliContext,
    path: Path,
    title: str | None,
    scope: int,
    workers: int | None,
    each_file: bool,
) -> None:
    """Add the file at PATH, or every supported file in the folder PATH.

    A folder's add lists the files that failed and ends with one line such as "12 added, 765
    already here, 2 failed". A file whose content is already a document (added before, or a
    copy of another file) is not a failure: the exit code is 1 only if a file failed.
    """
    files = supported_files(path)
    if path.is_dir() and not files:
        raise VerbatimError(f"{path} has no .txt, .md, .html or .pdf files.")
    if path.is_dir() and title is not None:
        raise click.UsageError("--title names one file's document; a folder's files keep theirs.")
    added_by = os.environ.get("USER", "cli")
    # Files are prepared in worker processes (started first: they load while the library does)
    # and stored here in order, several per transaction; a long file's paragraphs are shared
    # among the workers.
    count = workers_for(files) if workers is None else workers
    with prepare_pool(count, obj.settings.documents.max_bytes) as pool:
        async with open_library(obj.settings) as library:
            if not path.is_dir():
                click.echo(_added(await _add_one(library, scope, files[0], pool, title, added_by)))
                return
            tally = _FolderTally(len(files))
            outcomes = add_files(library, scope, files, added_by=added_by, pool=pool)
            try:
                async with aclosing(outcomes):
                    await _report_progress(outcomes, tally, each_file or obj.verbose)
            except asyncio.CancelledError:  # Ctrl-C: what was done so far, then exit 130
                click.echo(tally.summary())
                raise
    click.echo(tally.summary())
    if tally.failed:
        raise click.exceptions.Exit(1)


async def _add_one(
    library: Library,
    scope: int,
    file: Path,
    pool: PreparePool | None,
    title: str | None,
    added_by: str,
) -> StoredDocument:
    """Add one file; its errors end the command."""
    if pool is not None:
        return await add_large_file(library, scope, file, pool, title=title, added_by=added_by)
    document = await library.add_document(
        scope,
        file.read_bytes(),
        filename=file.name,
        title=title,
        source=str(file),
        added_by=added_by,
    )
    assert document is not None, "duplicates raise"
    return document


@dataclass
class _FolderTally:
    """What became of a folder's files so far, for the line that ends its add."""

    total: int
    added: int = 0
    already_here: int = 0
    failed: int = 0

    def summary(self) -> str:
        line = f"{self.added} added, {self.already_here} already here, {self.failed} failed"
        left = self.total - self.added - self.already_here - self.failed
        if left:
            line += f"; stopped before {counted(left, 'file')} (add the folder again to finish)"
        return line


async def _report_progress(
    outcomes: AsyncIterator[FileOutcome], tally: _FolderTally, each_file: bool
) -> None:
    """Count each file's outcome under a progress bar, listing the failures (or every file)."""
    from tqdm import tqdm

    # disable=None: a bar only on a terminal; redirected, stderr would fill with redraws.
    with tqdm(total=tally.total, unit="file", file=sys.stderr, disable=None) as progress:
        async for outcome in outcomes:
            progress.update()
            failed = False
            if outcome.document is not None:
                tally.added += 1
                line = f"{_added(outcome.document)} ({outcome.path})"
            elif outcome.existing is not None:
                tally.already_here += 1
                line = (
                    f"already here: {outcome.path} is document {outcome.existing.id} "
                    f"'{outcome.existing.title}'"
                )
            else:
                tally.failed += 1
                failed = True
                line = f"failed {outcome.path}: {outcome.error}"
            if failed or each_file:
                with tqdm.external_write_mode(file=sys.stderr):
                    click.echo(printable(line), err=failed)


def _added(document: StoredDocument, done: str = "added") -> str:
    return (
        f"{done} document {document.id} '{printable(document.title)}', "
        f"{counted(document.sentence_count, 'sentence')}"
    )


@docs.command("list")
@scope_option("Scope to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead of text.")
@click.pass_obj
@run_async
async def docs_list(obj: CliContext, scope: int, as_json: bool) -> None:
    """List the documents of a scope."""
    async with open_store(obj.settings.storage.database) as store:
        # Page by page: the store returns at most a page (1,000) at a time.
        documents: list[StoredDocument] = []
        while page := await store.list_documents(scope, offset=len(documents)):
            documents += page
    if as_json:
        click.echo(json_line(list(map(document_json, documents))))
        return
    if not documents:
        click.echo("No documents.")
    for document in documents:
        click.echo(
            f"{document.id:>5}  {printable(document.title)}  "
            f"({counted(document.sentence_count, 'sentence')}, "
            f"{printable(document.source or 'no source')}, "
            f"added {printable(document.added_at[:16])})"
        )


@docs.command("show")
@click.argument("document_id", type=int)
@scope_option("Scope the document belongs to.")
@click.pass_obj
@run_async
async def docs_show(obj: CliContext, document_id: int, scope: int) -> None:
    """Show a document's details and its numbered sentences."""
    async with open_store(obj.settings.storage.database) as store:
        document = await store.get_document(scope, document_id)
        sentences = await store.document_sentences(document_id)
    click.echo(
        f"{printable(document.title)}\nsource: {printable(document.source or '-')}\n"
        f"added: {printable(document.added_at)} by {printable(document.added_by or '-')}\n"
        f"sentences: {document.sentence_count}\n"
    )
    for sentence in sentences:
        click.echo(f"{sentence.position:>4}. {printable(sentence.text)}")


@docs.command("remove")
@click.argument("document_id", type=int)
@scope_option("Scope the document belongs to.")
@click.pass_obj
@run_async
async def docs_remove(obj: CliContext, document_id: int, scope: int) -> None:
    """Remove a document; questions stop seeing it at once."""
    async with open_store(obj.settings.storage.database) as store:
        document = await store.remove_document(scope, document_id)
    click.echo(f"removed document {document.id} '{printable(document.title)}'")


@docs.command("replace")
@click.argument("document_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", help="A new title (default: the document keeps its title).")
@scope_option("Scope the document belongs to.")
@click.pass_obj
@run_async
async def docs_replace(
    obj: CliContext, document_id: int, path: Path, title: str | None, scope: int
) -> None:
    """Replace a document's content with the file at PATH, keeping its id."""
    async with open_library(obj.settings) as library:
        document = await library.replace_document(
            scope,
            document_id,
            path.read_bytes(),
            filename=path.name,
            title=title,
            source=str(path),
        )
    kept = "" if title else " (kept its title; --title gives it a new one)"
    click.echo(_added(document, "replaced") + kept)


@cli.group("log", invoke_without_command=True)
@click.option("--unanswered", is_flag=True, help="Only questions the documents did not answer.")
@click.option("--rated", is_flag=True, help="Only answers that got feedback.")
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=20, show_default=True, help="How many rows."
)
@click.option("--scope", type=int, help="Only this scope (default: every scope).")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "csv", "jsonl"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.pass_obj
@run_async
async def log_command(
    obj: CliContext, unanswered: bool, rated: bool, limit: int, scope: int | None, output: str
) -> None:
    """Review logged questions and answers, newest first (or forget a user, purge old rows)."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    async with open_store(obj.settings.storage.database) as store:
        rows = await store.interactions(scope, limit=limit, unanswered=unanswered, rated=rated)
    if output == "jsonl":
        for row in rows:
            click.echo(json_line(interaction_json(row)))
    elif output == "csv":
        click.echo(interactions_csv(rows), nl=False)
    elif not rows:
        click.echo("No questions logged.")
    else:
        for row in rows:
            state = "answered" if row.answered else "NOT FOUND"
            votes = (
                f" +{row.thumbs_up}/-{row.thumbs_down}" if row.thumbs_up or row.thumbs_down else ""
            )
            click.echo(
                f"{row.id:>6}  {printable(row.asked_at[:19])}  {printable(row.via):<12} "
                f"{state:<9}{votes}  {printable(row.question)}"
            )


# -- the Discord bot (discord.py is imported only inside these commands) ---------------------

_BOT_CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (instead of the global --config).",
)


def _bot_settings(ctx: click.Context, config_path: Path | None) -> Settings:
    settings: Settings = ctx.obj.settings
    if config_path is None:
        return settings
    database = ctx.parent.params.get("database") if ctx.parent else None
    settings = load_settings(config_path)
    if database is not None:
        settings = replace(settings, storage=replace(settings.storage, database=database))
    return settings


def _discord_token() -> str:
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise VerbatimError(
            "DISCORD_TOKEN is not set: put the bot's token in the environment "
            "(it is never read from the config file)."
        )
    return token


@cli.command("run")
@_BOT_CONFIG
@click.pass_context
def run_command(ctx: click.Context, config_path: Path | None) -> None:
    """Start the Discord bot (token from DISCORD_TOKEN; Ctrl-C or SIGTERM stops it cleanly)."""
    from bot.app import run_bot

    settings = _bot_settings(ctx, config_path)
    token = _discord_token()
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))
    asyncio.run(run_bot(settings, token))


@cli.command("sync")
@click.option("--guild", type=int, help="Sync to this server only (instant, for development).")
@_BOT_CONFIG
@click.pass_context
def sync_command(ctx: click.Context, guild: int | None, config_path: Path | None) -> None:
    """Register the bot's slash commands with Discord, globally or in one server."""
    from bot.app import sync_commands

    settings = _bot_settings(ctx, config_path)
    count = asyncio.run(sync_commands(settings, _discord_token(), guild))
    where = f"to server {guild}" if guild is not None else "globally"
    click.echo(f"synced {count} commands {where}")


@log_command.command("forget")
@click.argument("user_id")
@click.option("--scope", type=int, help="Only this scope (default: every scope).")
@click.pass_obj
@run_async
async def log_forget(obj: CliContext, user_id: str, scope: int | None) -> None:
    """Delete every logged question and vote of USER_ID (e.g. a Discord user id)."""
    async with open_store(obj.settings.storage.database) as store:
        library = Library(store, obj.settings.retrieval, privacy=obj.settings.privacy)
        removed = await library.forget_user(scope, user_id)
    click.echo(f"forgot {removed} logged questions of user {user_id}")


@log_command.command("purge")
@click.pass_obj
@run_async
async def log_purge(obj: CliContext) -> None:
    """Delete logged questions older than privacy.retention_days (the bot also does this)."""
    days = obj.settings.privacy.retention_days
    if days <= 0:
        raise VerbatimError(
            "privacy.retention_days is 0 (keep the log forever); set it in the config file."
        )
    async with open_store(obj.settings.storage.database) as store:
        library = Library(store, obj.settings.retrieval, privacy=obj.settings.privacy)
        removed = await library.purge_expired()
    click.echo(f"deleted {removed} logged questions older than {days} days")


def document_json(document: StoredDocument) -> dict[str, Any]:
    """The shape of one document in `docs list --json`."""
    return {
        "id": document.id,
        "scope": document.scope,
        "title": document.title,
        "source": document.source,
        "kind": document.kind,
        "sentences": document.sentence_count,
        "added_by": document.added_by,
        "added_at": document.added_at,
        "updated_at": document.updated_at,
    }


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
        section = f" › {printable(hit.section.text)}" if hit.section is not None else ""
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


def main() -> None:
    """Entry point: user errors end with one clear line on stderr and a non-zero exit."""
    try:
        # Without standalone mode click returns the code of a ctx.exit(code) instead of exiting.
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except VerbatimError as error:
        click.echo(f"verbatim: {printable(error.message)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # the last resort: one line for the user, traceback on request
        log.debug("unexpected error", exc_info=True)
        if os.environ.get("VERBATIM_DEBUG"):
            raise
        click.echo(
            f"verbatim: unexpected error ({type(error).__name__}: {printable(str(error))}); "
            "set VERBATIM_DEBUG=1 for details.",
            err=True,
        )
        sys.exit(2)
