"""The `verbatim` command line: a thin front end over the engine (no Discord).

Each module adds its commands to the group in bot/cli/root.py; importing them here is what
registers them. bot/main.py runs the group with the services it opened.
"""

from bot.cli import asking, documents, review, serving
from bot.cli.root import cli, main

__all__ = ["asking", "cli", "documents", "main", "review", "serving"]
