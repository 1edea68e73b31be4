"""The layers stay honest: retrieval is pure, and the engine, store and CLI need no discord."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        ("retrieval", ("discord", "aiosqlite", "asyncio")),
        ("retrieval, bot.store, bot.engine.library, bot.cli", ("discord",)),
    ],
)
def test_imports_stay_in_their_layer(modules, forbidden):
    code = f"import sys, {modules}; print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
