"""Moderators curate, for this server only: /docs and the "Add to Verbatim" message command."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord.checks import is_moderator, require_moderator
from bot.discord.cogs.moderated import ModeratorGroupCog, server_scope, tell
from bot.discord.render import escape, fit_lines, link, shorten
from bot.errors import DocumentRejectedError, VerbatimError
from bot.store import StoredDocument
from bot.wording import counted

if TYPE_CHECKING:
    from bot.discord.app import Verbatim

log = logging.getLogger(__name__)

PAGE_SIZE = 15
SHOW_AT_MOST = 100
ONE_SOURCE = "Give exactly one of file, text or url."


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """What a moderator handed in, read into bytes, with where it came from."""

    data: bytes
    filename: str | None
    content_type: str | None
    source: str | None


def describe(document: StoredDocument) -> str:
    """`'Title', 42 sentences` for replies."""
    title = escape(shorten(document.title, 100))
    return f"'{title}', {counted(document.sentence_count, 'sentence')} (document {document.id})"


def timestamp(iso: str) -> str:
    """A Discord timestamp tag for a stored ISO time (shown in each reader's time zone)."""
    try:
        return f"<t:{int(datetime.fromisoformat(iso).timestamp())}:d>"
    except ValueError:
        return escape(iso[:10])


class Docs(
    ModeratorGroupCog, group_name="docs", group_description="Manage the documents quoted here"
):
    """The documents of this server: moderators only."""

    def __init__(self, bot: Verbatim) -> None:
        super().__init__(bot)
        # A good answer someone gave in chat becomes a document, cited by a link to it. Hidden
        # from members like the groups (a hint admins can change: add_message checks).
        menu = app_commands.ContextMenu(name="Add to Verbatim", callback=self.add_message)
        menu = app_commands.default_permissions(manage_guild=True)(app_commands.guild_only(menu))
        self.add_menu = menu

    async def cog_load(self) -> None:
        """Register the message command (context menus cannot be declared in a cog)."""
        self.bot.tree.add_command(self.add_menu)

    async def cog_unload(self) -> None:
        """Remove the message command with the cog."""
        self.bot.tree.remove_command(self.add_menu.name, type=self.add_menu.type)

    # -- commands -------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        file="A .txt, .md, .html or .pdf file",
        text="The document's text, pasted",
        url="An http(s) link to the document",
        title="The title to cite (default: the document's own)",
    )
    async def add(
        self,
        interaction: discord.Interaction[Verbatim],
        file: discord.Attachment | None = None,
        text: app_commands.Range[str, 1, 6000] | None = None,
        url: app_commands.Range[str, 1, 2000] | None = None,
        title: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Add a document from a file, pasted text or a URL."""
        self.check_one_source(file, text, url)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.add_and_tell(interaction, await self.read_input(file, text, url), title)

    async def add_message(
        self, interaction: discord.Interaction[Verbatim], message: discord.Message
    ) -> None:
        """Add a message's text as a document, titled by its first words, cited by its link."""
        # A context menu is no command of the group: the group's check does not run for it.
        require_moderator(interaction, self.bot.settings.discord.moderator_roles)
        text = message.content.strip()
        if not text:
            attached = " (add an attachment with /docs add file:)" if message.attachments else ""
            raise DocumentRejectedError(f"That message has no text to add{attached}.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        given = DocumentInput(text.encode("utf-8"), None, "text/plain", message.jump_url)
        await self.add_and_tell(interaction, given, None)

    @app_commands.command(name="replace")
    @app_commands.describe(
        document="The document to replace",
        file="A .txt, .md, .html or .pdf file",
        text="The new text, pasted",
        url="An http(s) link to the new version",
        title="A new title (default: keep the current one)",
    )
    async def replace(
        self,
        interaction: discord.Interaction[Verbatim],
        document: str,
        file: discord.Attachment | None = None,
        text: app_commands.Range[str, 1, 6000] | None = None,
        url: app_commands.Range[str, 1, 2000] | None = None,
        title: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Replace a document's content, keeping its id."""
        self.check_one_source(file, text, url)
        existing = await self.find(interaction, document)
        await interaction.response.defer(ephemeral=True, thinking=True)
        given = await self.read_input(file, text, url)
        replaced = await self.bot.library.documents.replace(
            existing.scope,
            existing.id,
            given.data,
            filename=given.filename,
            content_type=given.content_type,
            title=title,
            source=given.source,
        )
        await tell(interaction, f"Replaced {describe(replaced)}.")

    @app_commands.command(name="remove")
    @app_commands.describe(document="The document to remove")
    async def remove(self, interaction: discord.Interaction[Verbatim], document: str) -> None:
        """Remove a document; questions stop seeing it at once."""
        existing = await self.find(interaction, document)
        removed = await self.bot.library.documents.remove(existing.scope, existing.id)
        await tell(interaction, f"Removed {describe(removed)}.")

    @app_commands.command(name="list")
    @app_commands.describe(page="Which page of the list")
    async def list_(
        self, interaction: discord.Interaction[Verbatim], page: app_commands.Range[int, 1] = 1
    ) -> None:
        """List this server's documents."""
        scope = server_scope(interaction)
        total = await self.bot.store.count_documents(scope)
        if not total:
            await tell(interaction, "No documents here yet: add one with /docs add.")
            return
        pages = -(-total // PAGE_SIZE)
        page = min(page, pages)
        documents = await self.bot.store.list_documents(
            scope, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        lines = [f"**Documents** (page {page} of {pages}, {total} in all)"]
        lines += [
            f"`{d.id}` {escape(shorten(d.title, 80))} · {counted(d.sentence_count, 'sentence')} · "
            f"added {timestamp(d.added_at)}"
            for d in documents
        ]
        if page < pages:
            lines.append(f"-# Next: /docs list page:{page + 1}")
        await tell(interaction, fit_lines(lines))

    @app_commands.command(name="show")
    @app_commands.describe(document="The document to show", start="The first sentence to show")
    async def show(
        self,
        interaction: discord.Interaction[Verbatim],
        document: str,
        start: app_commands.Range[int, 1] = 1,
    ) -> None:
        """Show a document's details and its numbered sentences."""
        found = await self.find(interaction, document)
        # One more than is shown, to know whether to point at the rest.
        sentences = await self.bot.store.document_sentences(found.id, start, SHOW_AT_MOST + 1)
        source = link(found.source, "source") if found.source else "none"
        # Who added it is shown as a mention: it renders as a name and, with no mentions
        # allowed, pings no one.
        by = f"<@{found.added_by}>" if found.added_by.isdigit() else escape(found.added_by)
        lines = [
            f"**{escape(shorten(found.title, 200))}** (document {found.id})",
            f"{counted(found.sentence_count, 'sentence')} · source: {source} · "
            f"added {timestamp(found.added_at)} by {by}",
        ]
        # A message holds a few dozen sentences at most: render only those.
        shown = sentences[:SHOW_AT_MOST]
        hidden = max(found.sentence_count - start + 1, 0) - len(shown)
        lines += [f"`{s.position}.` {escape(shorten(s.text, 300))}" for s in shown]
        more = "… {n} more: /docs show start:<number>"
        await tell(interaction, fit_lines(lines, more=more, hidden=hidden))

    @remove.autocomplete("document")
    @replace.autocomplete("document")
    @show.autocomplete("document")
    async def document_titles(
        self, interaction: discord.Interaction[Verbatim], current: str
    ) -> list[app_commands.Choice[str]]:
        """Titles of this server's documents containing what was typed (moderators only)."""
        if not is_moderator(interaction, self.bot.settings.discord.moderator_roles):
            return []
        documents = await self.bot.store.search_titles(
            server_scope(interaction), current.strip(), 25
        )
        return [
            app_commands.Choice(name=shorten(f"{d.title} (#{d.id})", 100), value=str(d.id))
            for d in documents
        ]

    # -- helpers ----------------------------------------------------------------------------

    async def add_and_tell(
        self, interaction: discord.Interaction[Verbatim], given: DocumentInput, title: str | None
    ) -> None:
        """Add what a moderator handed in to this server's documents, and say what was added."""
        document = await self.bot.library.documents.add(
            server_scope(interaction),
            given.data,
            filename=given.filename,
            content_type=given.content_type,
            title=title,
            source=given.source or "",
            added_by=str(interaction.user.id),
        )
        assert document is not None
        log.info(
            "guild %s: %s added document %d from %s",
            document.scope,
            interaction.user.id,
            document.id,
            given.source or "pasted text",
        )
        await tell(interaction, f"Added {describe(document)}.")

    def check_one_source(
        self, file: discord.Attachment | None, text: str | None, url: str | None
    ) -> None:
        """Refuse, before acknowledging, anything but exactly one source or an oversized file."""
        if sum(given is not None for given in (file, text, url)) != 1:
            raise VerbatimError(ONE_SOURCE)
        limit = self.bot.settings.documents.max_bytes
        if file is not None and file.size > limit:
            raise DocumentRejectedError(
                f"'{escape(file.filename)}' is {file.size:,} bytes; the limit is {limit:,}."
            )

    async def read_input(
        self, file: discord.Attachment | None, text: str | None, url: str | None
    ) -> DocumentInput:
        """The bytes of whichever source was given."""
        if file is not None:
            try:
                data = await file.read()
            except discord.HTTPException as error:
                raise DocumentRejectedError(
                    f"The attachment could not be downloaded ({error.status})."
                ) from None
            # Discord signs attachment links for about a day and refuses them unsigned, so a
            # citation names the file rather than link to a URL that stops working.
            return DocumentInput(data, file.filename, file.content_type, file.filename)
        if url is not None:
            fetched = await self.bot.fetcher.fetch(url.strip())
            return DocumentInput(fetched.data, fetched.filename, fetched.content_type, fetched.url)
        assert text is not None
        return DocumentInput(text.encode("utf-8"), None, "text/plain", None)

    async def find(self, interaction: discord.Interaction[Verbatim], given: str) -> StoredDocument:
        """The document a moderator picked: by id (what autocomplete fills in) or by title.

        A title picks the one document titled exactly that (ignoring case), else the only
        document whose title contains it.
        """
        scope = server_scope(interaction)
        given = given.strip()
        if given.isdigit():
            return await self.bot.store.get_document(scope, int(given))
        # The exact title first: a fragment search only sees the first 25 matches.
        exact = await self.bot.store.titled(scope, given)
        if len(exact) == 1:
            return exact[0]
        candidates = await self.bot.store.search_titles(scope, given, 2)
        if len(candidates) == 1:
            return candidates[0]
        raise VerbatimError(
            f"No single document is titled '{escape(shorten(given, 100))}' here; "
            "pick one from the suggestions."
        )


async def setup(bot: Verbatim) -> None:
    """Load the cog."""
    await bot.add_cog(Docs(bot))
