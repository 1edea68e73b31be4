"""The Discord bot: the Bot class, its one error handler, its extensions, and how it starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import DiscordSettings, Settings
from bot.discord.cooldown import Cooldown
from bot.discord.render import MESSAGE_LIMIT, NO_MENTIONS, escape
from bot.engine.fetch import Fetcher
from bot.engine.library import Library
from bot.engine.server_settings import ServerSettingsBook
from bot.errors import VerbatimError
from bot.store import Store

log = logging.getLogger(__name__)

# How the composition root (bot/main.py) lets the app open the library, in its own chain.
OpenLibrary = Callable[[Settings], AbstractAsyncContextManager[Library]]

EXTENSIONS: tuple[str, ...] = (
    "bot.discord.cogs.ask",
    "bot.discord.cogs.docs",
    "bot.discord.cogs.review",
    "bot.discord.cogs.settings",
    "bot.discord.cogs.forum",
)
GENERIC_ERROR = "Something went wrong on our side; it has been logged."
COOLDOWN_MESSAGE = "You are asking quickly; try again in {seconds:.0f} s."
# How long a stop waits for questions being answered to finish.
_DRAIN_SECONDS = 10.0


class CoolingDown(app_commands.CheckFailure):
    """The user asked too often; the message is safe to show."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(COOLDOWN_MESSAGE.format(seconds=max(retry_after, 1)))
        self.retry_after = retry_after


def user_message(error: BaseException) -> str | None:
    """The safe text for an error a user caused, or None for an unexpected one."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, VerbatimError):
        return error.render(escape)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure) and error.args:
        return str(error.args[0])
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    if isinstance(error, app_commands.TransformerError):
        return "One of the options is not valid; check it and try again."
    return None


class VerbatimTree(app_commands.CommandTree["Verbatim"]):
    """The command tree whose `on_error` is the single place app-command errors are handled."""

    async def on_error(
        self, interaction: discord.Interaction[Verbatim], error: app_commands.AppCommandError
    ) -> None:
        """Answer user errors with their safe text; log anything else and answer generically."""
        text = user_message(error)
        if text is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            original = getattr(error, "original", error)
            log.error("command /%s failed", command, exc_info=original)
            text = GENERIC_ERROR
        await send_ephemeral(interaction, text)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Tell only the user something, whether or not the interaction was answered already."""
    # Error text can quote what users or remote servers supplied: never let it exceed the limit,
    # or Discord refuses the message and the user is told nothing.
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException:
        log.warning("could not tell the user about an error", exc_info=True)


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """The gateway intents: message content only when question channels need it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    # Mentions of the bot and DMs carry their text without the privileged intent; a question
    # channel, where people ask without mentioning the bot, does not.
    intents.message_content = settings.message_content_intent or bool(settings.question_channels)
    return intents


# Verbatim never joins voice: discord.py's warnings about missing voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class Verbatim(commands.Bot):
    """The bot: holds the resources opened in `main` and loads the cogs in `setup_hook`."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        library: Library,
        fetcher: Fetcher,
        extensions: Sequence[str] = EXTENSIONS,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents_for(settings.discord),
            tree_cls=VerbatimTree,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
        )
        self.settings = settings
        self.store = store
        self.library = library
        self.fetcher = fetcher
        self.cooldown = Cooldown(
            settings.discord.cooldown_questions, settings.discord.cooldown_seconds
        )
        # Each server's own settings over the config file's (question channels, support role,
        # cooldown, answer threshold), changed with /settings.
        self.server_settings = ServerSettingsBook(store, settings)
        self.extensions_to_load = tuple(extensions)
        self._retention: asyncio.Task[None] | None = None
        # Questions being answered: a stop lets them finish (see close).
        self.answering = InFlight()

    async def setup_hook(self) -> None:
        """Load every extension (logging each failure) and sync to development guilds."""
        await self.server_settings.load()
        for extension in self.extensions_to_load:
            try:
                await self.load_extension(extension)
            except Exception:
                log.exception("failed to load extension %s", extension)
        for guild_id in self.settings.discord.dev_guilds:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to development guild %d", len(synced), guild_id)
        if self.settings.discord.question_channels and not self.intents.message_content:
            log.warning("question channels are configured but the message content intent is off")
        if self.settings.privacy.retention_days > 0:
            # Hourly, so a bot that runs for months still forgets on schedule.
            self._retention = asyncio.create_task(self.library.privacy.keep_retention())

    async def close(self) -> None:
        """Let questions being answered finish, stop the retention task, then disconnect."""
        # Their replies and log writes need the store, which closes after the bot.
        await self.answering.idle(timeout=_DRAIN_SECONDS)
        # discord.py waits ~2 s after READY for guilds before dispatching on_ready; a stop in
        # that window leaves its task to dispatch on a closed client (a logged AttributeError).
        ready = getattr(self._connection, "_ready_task", None)
        if ready is not None:
            ready.cancel()
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        await super().close()

    async def on_message(self, message: discord.Message, /) -> None:
        """Verbatim has no prefix commands; questions in messages are handled by the ask cog."""

    async def on_ready(self) -> None:
        """Log who we are; start-up work belongs in `setup_hook` (this can fire many times)."""
        if self.user is not None:
            log.info(
                "connected as %s (%d) to %d servers", self.user, self.user.id, len(self.guilds)
            )


def create_bot(settings: Settings, store: Store, library: Library, fetcher: Fetcher) -> Verbatim:
    """Build the bot over opened resources; tests and `verbatim run` build it the same way."""
    return Verbatim(settings=settings, store=store, library=library, fetcher=fetcher)


def use_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py at another Discord-compatible server when the settings say so.

    discord.py builds every REST URL from `Route.BASE` and opens the gateway at
    `DiscordWebSocket.DEFAULT_GATEWAY` (also where it goes back to after an invalidated
    session); both are class attributes, so this changes them for the whole process.
    """
    if settings.api_base:
        discord.http.Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def _start_error(error: BaseException, settings: DiscordSettings) -> VerbatimError:
    where = settings.api_base or "discord.com"
    if isinstance(error, discord.LoginFailure):
        return VerbatimError(f"Discord rejected the token in DISCORD_TOKEN ({where}).")
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return VerbatimError(
            "Discord refused the message content intent: enable it for the bot in the developer "
            "portal, or remove discord.question_channels and discord.message_content_intent."
        )
    if isinstance(error, discord.HTTPException):
        return VerbatimError(f"Discord answered {error.status} at login ({where}): {error.text}")
    return VerbatimError(f"Cannot reach Discord at {where}: {error}")


class InFlight:
    """Counts work under way (`async with`), so that a stop can wait for it to finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> None:
        self._count += 1
        self._idle.clear()

    async def __aexit__(self, *_: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def idle(self, timeout: float) -> None:
        """Wait until nothing is under way, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_SECONDS = 1.0


class GracefulStop:
    """Ctrl-C and SIGTERM (how service managers stop a process) stop the bot in order.

    The first signal cancels the running task, as `asyncio.run` does on Ctrl-C, so the bot
    leaves the gateway with close code 1000 (Discord then ends the session instead of keeping
    it, and the bot, online for minutes) and every resource opened in the task closes. Without
    this, SIGTERM ends the process where it stands. A second signal ends it at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self.bot: discord.Client | None = None
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._closing: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        for signal_number in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):  # no loop signal handlers on Windows
                self._loop.add_signal_handler(signal_number, self._stop, signal_number)

    def _stop(self, signal_number: int) -> None:
        log.info("%s: stopping", signal.Signals(signal_number).name)
        self.requested = True
        for other in STOP_SIGNALS:  # back to the defaults: a second signal does not wait
            self._loop.remove_signal_handler(other)
        if self._task is not None:
            self._task.cancel()
        # Python 3.11's asyncio.wait_for can swallow a cancellation that arrives just as what it
        # awaits completes (discord.py awaits the gateway handshake so); then close the bot.
        self._loop.call_later(STOP_GRACE_SECONDS, self._close_if_still_running)

    def _close_if_still_running(self) -> None:
        if self.bot is not None and not self.bot.is_closed():
            log.info("the stop was lost in a handshake; closing the bot")
            task = asyncio.ensure_future(self.bot.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


async def run_bot(settings: Settings, token: str, open_library: OpenLibrary) -> None:
    """Open every resource once, in one chain, then run the bot until it is stopped."""
    use_endpoints(settings.discord)
    stop = GracefulStop()
    try:
        async with (
            open_library(settings) as library,
            Fetcher.open(settings.documents) as fetcher,
            create_bot(settings, library.store, library, fetcher) as verbatim,
        ):
            stop.bot = verbatim
            try:
                await verbatim.start(token)
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as error:
                raise _start_error(error, settings.discord) from None
            except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
                log.debug("start-up failed", exc_info=True)
                raise _start_error(error, settings.discord) from None
    except asyncio.CancelledError:
        if not stop.requested:
            raise
        # Stopped on request, with everything closed: a normal end, not a cancellation.
        asyncio.current_task().uncancel()  # type: ignore[union-attr]


async def sync_commands(
    settings: Settings, token: str, guild_id: int | None, open_library: OpenLibrary
) -> int:
    """Log in without connecting to the gateway and sync the slash commands; returns how many."""
    use_endpoints(settings.discord)
    async with (
        open_library(settings) as library,
        Fetcher.open(settings.documents) as fetcher,
        create_bot(settings, library.store, library, fetcher) as verbatim,
    ):
        try:
            await verbatim.login(token)
        except (discord.LoginFailure, discord.HTTPException, aiohttp.ClientError, OSError) as error:
            raise _start_error(error, settings.discord) from None
        if guild_id is None:
            return len(await verbatim.tree.sync())
        guild = discord.Object(guild_id)
        verbatim.tree.copy_global_to(guild=guild)
        return len(await verbatim.tree.sync(guild=guild))
