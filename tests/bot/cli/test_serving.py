"""`verbatim run` and `verbatim sync`, run as a user runs them, against a fake Discord API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import COMMAND_NAMES, ROOT
from tests.local_http import Route, local_server

APPLICATION_ID = "900000000000000001"
BOT_USER = {
    "id": "900000000000000002",
    "username": "verbatim",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
}
APPLICATION = {
    "id": APPLICATION_ID,
    "name": "Verbatim",
    "description": "",
    "icon": None,
    "bot_public": True,
    "bot_require_code_grant": False,
    "owner": {**BOT_USER, "id": "900000000000000003", "username": "owner", "bot": False},
    "verify_key": "0" * 64,
    "flags": 0,
    "interactions_endpoint_url": None,
}
UNAUTHORIZED = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()


def verbatim(tmp_path: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "VERBATIM_"))
    }
    env.update(environment)
    env["VERBATIM_DB"] = str(tmp_path / "verbatim.db")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def one_line(completed: subprocess.CompletedProcess) -> str:
    """The one line the user is told, after whatever was logged; never a traceback."""
    assert "Traceback" not in completed.stderr, completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("verbatim:")]
    assert len(errors) == 1, completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == errors[0]
    return errors[0]


def test_run_without_a_token_says_so_in_one_line(tmp_path):
    completed = verbatim(tmp_path, "run")

    assert completed.returncode == 1
    assert one_line(completed) == (
        "verbatim: DISCORD_TOKEN is not set: put the bot's token in the environment "
        "(it is never read from the config file)."
    )


def test_a_rejected_token_ends_in_one_line_and_the_api_base_is_honoured(tmp_path):
    with local_server() as discord_api:
        discord_api.routes["/api/v10/users/@me"] = Route(
            UNAUTHORIZED, 401, {"Content-Type": "application/json"}
        )
        base = discord_api.url("/api/v10")
        completed = verbatim(tmp_path, "run", DISCORD_TOKEN="not-a-token", DISCORD_API_BASE=base)

    assert completed.returncode == 1
    assert one_line(completed) == f"verbatim: Discord rejected the token in DISCORD_TOKEN ({base})."
    assert discord_api.hits == ["/api/v10/users/@me"]


def test_an_unreachable_server_ends_in_one_line(tmp_path):
    with local_server() as closed:
        base = closed.url("/api/v10")
    config = tmp_path / "verbatim.toml"
    config.write_text(f'[discord]\napi_base = "{base}"\n')

    completed = verbatim(tmp_path, "run", "--config", str(config), DISCORD_TOKEN="x")

    assert completed.returncode == 1
    assert one_line(completed).startswith(f"verbatim: Cannot reach Discord at {base}")


@pytest.mark.parametrize("guild", [None, "123456789012345678"])
def test_sync_registers_the_commands(tmp_path, guild):
    names: list[str] = []

    def registered(sent: bytes) -> bytes:
        commands = json.loads(sent)
        names.extend(command["name"] for command in commands)
        for number, command in enumerate(commands, 1):
            command.update(id=str(800000000000000000 + number), application_id=APPLICATION_ID)
            command.update(version="1", description=command.get("description", ""))
        return json.dumps(commands).encode()

    json_type = {"Content-Type": "application/json"}
    commands_path = f"/api/v10/applications/{APPLICATION_ID}"
    commands_path += f"/guilds/{guild}/commands" if guild else "/commands"
    with local_server() as discord_api:
        discord_api.routes["/api/v10/users/@me"] = Route(
            json.dumps(BOT_USER).encode(), 200, json_type
        )
        discord_api.routes["/api/v10/oauth2/applications/@me"] = Route(
            json.dumps(APPLICATION).encode(), 200, json_type
        )
        discord_api.routes[f"PUT {commands_path}"] = Route(registered, 200, json_type)
        arguments = ["sync", "--guild", guild] if guild else ["sync"]
        completed = verbatim(
            tmp_path,
            *arguments,
            DISCORD_TOKEN="token",
            DISCORD_API_BASE=discord_api.url("/api/v10"),
        )

    assert completed.returncode == 0, completed.stderr
    where = f"to server {guild}" if guild else "globally"
    assert completed.stdout.strip() == f"synced {len(COMMAND_NAMES)} commands {where}"
    assert sorted(names) == COMMAND_NAMES
    assert commands_path in discord_api.hits


@pytest.mark.parametrize("command", ["run", "sync"])
def test_bot_commands_have_help(command):
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.main import SERVICES

    result = CliRunner().invoke(cli, [command, "--help"], obj=SERVICES)
    assert result.exit_code == 0
    assert "Usage:" in result.output and "--config" in result.output
