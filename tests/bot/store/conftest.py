"""The store's contract tests run once per implementation of the Store interface."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.bot.store.implementations import IMPLEMENTATIONS


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each implementation in turn."""
    async with IMPLEMENTATIONS[request.param].open(tmp_path) as opened:
        yield opened
