"""`verbatim docs`: add, list, show, replace and remove documents."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bot.cli.context import CliContext, run_async, scope_option
from bot.cli.root import cli
from bot.cli.terminal import json_line, printable
from bot.engine.documents import supported_files
from bot.engine.ingest import (
    FileOutcome,
    PreparePool,
    add_files,
    add_large_file,
    prepare_pool,
    workers_for,
)
from bot.engine.library import Library
from bot.errors import VerbatimError
from bot.store import StoredDocument
from bot.wording import counted


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
        async with obj.open_library() as library:
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
    document = await library.documents.add(
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
    async with obj.open_store() as store:
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
    async with obj.open_store() as store:
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
    async with obj.open_store() as store:
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
    async with obj.open_library() as library:
        document = await library.documents.replace(
            scope,
            document_id,
            path.read_bytes(),
            filename=path.name,
            title=title,
            source=str(path),
        )
    kept = "" if title else " (kept its title; --title gives it a new one)"
    click.echo(_added(document, "replaced") + kept)


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
