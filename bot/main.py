"""The composition root: opens what the program needs and hands it to the front end asked for.

Both front ends get their resources from here: the CLI through `SERVICES`, the Discord app
through `run_discord` (which passes it `open_library`). Neither imports the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from bot.cli import main as run_cli
from bot.cli.context import Services
from bot.config import Settings
from bot.engine.library import Library
from bot.store import Store, open_store
from retrieval.embedder import Embedder
from retrieval.reader import Reader


def open_configured_store(settings: Settings) -> AbstractAsyncContextManager[Store]:
    """The configured database, migrated to the current schema."""
    return open_store(settings.storage.database)


@asynccontextmanager
async def open_library(settings: Settings) -> AsyncIterator[Library]:
    """Open the database, seed a fresh one, and load every index: the one start-up path."""
    async with open_configured_store(settings) as store:
        library = Library(
            store,
            settings.retrieval,
            max_document_bytes=settings.documents.max_bytes,
            privacy=settings.privacy,
            reader=Reader(),
            embedder=Embedder(),
        )
        await library.privacy.purge_expired()
        await library.seed(settings.storage.seeds)
        await library.load()
        yield library


def run_discord(settings: Settings, token: str) -> None:
    """Run the Discord bot until it is stopped (Ctrl-C or SIGTERM)."""
    # Imported here: the CLI's other commands start without loading discord.py.
    from bot.discord.app import run_bot

    asyncio.run(run_bot(settings, token, open_library))


def sync_discord(settings: Settings, token: str, guild_id: int | None) -> int:
    """Register the slash commands with Discord (globally, or in one server); how many."""
    from bot.discord.app import sync_commands

    return asyncio.run(sync_commands(settings, token, guild_id, open_library))


SERVICES = Services(open_configured_store, open_library, run_discord, sync_discord)


def main() -> None:
    """The `verbatim` program."""
    run_cli(SERVICES)
