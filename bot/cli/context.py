"""What every CLI command is handed: the settings, and how to open the store or the library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import click

from bot.config import Settings
from bot.engine.library import Library
from bot.store import GLOBAL_SCOPE, Store

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """What the composition root (bot/main.py) hands the CLI; the CLI opens nothing itself.

    The Discord front end is started through `run_discord` and `sync_discord`, so the CLI
    never imports it (nor discord.py).
    """

    open_store: Callable[[Settings], AbstractAsyncContextManager[Store]]
    open_library: Callable[[Settings], AbstractAsyncContextManager[Library]]
    run_discord: Callable[[Settings, str], None]
    sync_discord: Callable[[Settings, str, int | None], int]


@dataclass(frozen=True)
class CliContext:
    """What the global options decided, handed to every command."""

    settings: Settings
    services: Services
    verbose: bool = False

    def open_store(self) -> AbstractAsyncContextManager[Store]:
        """The database alone: for commands that only read or change what is stored."""
        return self.services.open_store(self.settings)

    def open_library(self) -> AbstractAsyncContextManager[Library]:
        """The database with every index loaded: for commands that answer or add."""
        return self.services.open_library(self.settings)


def run_async(function: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Let a click command be an async function."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(function(*args, **kwargs))

    return wrapper


def scope_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --scope option of commands that work in one scope (the global one by default)."""
    return click.option("--scope", type=int, default=GLOBAL_SCOPE, show_default=True, help=help)
