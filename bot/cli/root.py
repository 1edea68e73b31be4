"""The `verbatim` command group, its global options, and the entry point that runs it."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from bot.cli.context import CliContext, Services
from bot.cli.terminal import printable
from bot.config import load_settings
from bot.errors import VerbatimError

log = logging.getLogger(__name__)


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
    if not isinstance(ctx.obj, Services):
        raise click.UsageError("the CLI is started by bot.main (it hands the CLI its services)")
    ctx.obj = CliContext(settings, ctx.obj, verbose)


def main(services: Services) -> None:
    """Entry point: user errors end with one clear line on stderr and a non-zero exit."""
    try:
        # Without standalone mode click returns the code of a ctx.exit(code) instead of exiting.
        code = cli.main(standalone_mode=False, obj=services)
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
