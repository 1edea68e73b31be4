"""Per-server settings: the config file's defaults, a server's own values, bad values refused."""

import pytest

from bot.config import DiscordSettings, RetrievalSettings, Settings
from bot.engine.server_settings import ServerSettingsBook
from bot.errors import VerbatimError

DEFAULTS = Settings(
    discord=DiscordSettings(question_channels=(5,), support_role=9, cooldown_questions=2),
    retrieval=RetrievalSettings(min_confidence=0.4),
)


async def test_the_config_file_is_the_default_and_servers_override_it(store):
    book = ServerSettingsBook(store, DEFAULTS)
    await book.load()
    assert book.of(1) == book.defaults == book.of(None)
    assert (book.of(1).question_channels, book.of(1).support_role) == ({5}, 9)

    await book.set(1, "question_channels", [7, 6, 7], by="mod")
    await book.set(1, "support_role", None, by="mod")
    assert book.of(1).question_channels == {6, 7}
    assert book.of(1).support_role is None
    assert book.of(1).own == {"question_channels", "support_role"}
    assert book.of(2) == book.defaults

    reloaded = ServerSettingsBook(store, DEFAULTS)
    await reloaded.load()
    assert reloaded.of(1) == book.of(1)
    await reloaded.reset(1, "support_role", by="mod")
    assert reloaded.of(1).support_role == 9


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_confidence", 1.5),
        ("cooldown_questions", 0),
        ("cooldown_seconds", -1),
        ("question_channels", ["general"]),
        ("nonsense", 1),
    ],
)
async def test_invalid_values_are_refused_with_a_safe_message(store, key, value):
    book = ServerSettingsBook(store, DEFAULTS)
    with pytest.raises(VerbatimError):
        await book.set(1, key, value, by="mod")
    assert await store.setting_changes(1) == []


async def test_a_stored_value_that_no_longer_makes_sense_is_ignored(store, caplog):
    await store.change_server_setting(1, "min_confidence", "7", "mod")
    await store.change_server_setting(1, "retired_key", "1", "mod")
    await store.change_server_setting(1, "cooldown_questions", "4", "mod")
    book = ServerSettingsBook(store, DEFAULTS)
    await book.load()
    assert book.of(1).min_confidence == 0.4
    assert book.of(1).cooldown_questions == 4
    assert "ignoring" in caplog.text
