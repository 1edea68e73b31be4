"""`verbatim log`: review the question log, forget a user, purge old rows."""

from __future__ import annotations

import click

from bot.cli.context import CliContext, run_async
from bot.cli.root import cli
from bot.cli.terminal import json_line, printable
from bot.engine.export import interaction_json, interactions_csv
from bot.engine.privacy import Privacy
from bot.errors import VerbatimError


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
    async with obj.open_store() as store:
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


@log_command.command("forget")
@click.argument("user_id")
@click.option("--scope", type=int, help="Only this scope (default: every scope).")
@click.pass_obj
@run_async
async def log_forget(obj: CliContext, user_id: str, scope: int | None) -> None:
    """Delete every logged question and vote of USER_ID (e.g. a Discord user id)."""
    async with obj.open_store() as store:
        removed = await Privacy(store, obj.settings.privacy).forget_user(scope, user_id)
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
    async with obj.open_store() as store:
        removed = await Privacy(store, obj.settings.privacy).purge_expired()
    click.echo(f"deleted {removed} logged questions older than {days} days")
