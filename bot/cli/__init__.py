"""The `verbatim` command line: a thin front end over the engine (no Discord)."""

from bot.cli.group import cli, main

__all__ = ["cli", "main"]
