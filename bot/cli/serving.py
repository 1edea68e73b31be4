"""`verbatim run` and `verbatim sync`: the Discord front end, started through the services."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import click

from bot.cli.root import cli
from bot.config import Settings, load_settings
from bot.errors import VerbatimError

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
    settings = _bot_settings(ctx, config_path)
    token = _discord_token()
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))
    ctx.obj.services.run_discord(settings, token)


@cli.command("sync")
@click.option("--guild", type=int, help="Sync to this server only (instant, for development).")
@_BOT_CONFIG
@click.pass_context
def sync_command(ctx: click.Context, guild: int | None, config_path: Path | None) -> None:
    """Register the bot's slash commands with Discord, globally or in one server."""
    settings = _bot_settings(ctx, config_path)
    count = ctx.obj.services.sync_discord(settings, _discord_token(), guild)
    where = f"to server {guild}" if guild is not None else "globally"
    click.echo(f"synced {count} commands {where}")
