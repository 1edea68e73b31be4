"""The TOML settings: the example file matches the defaults, and a bad key is named."""

from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_matches_the_defaults():
    # config.example.toml documents every key with its default: loading it changes nothing.
    assert load_settings(ROOT / "config.example.toml", environ={}) == Settings()


def test_every_setting_is_documented_in_the_example():
    text = (ROOT / "config.example.toml").read_text()
    for section in Settings.__dataclass_fields__:
        assert f"[{section}]" in text
        for key in getattr(Settings(), section).__dataclass_fields__:
            assert f"{key} =" in text, f"{section}.{key} is not in config.example.toml"


def test_environment_overrides_the_database(tmp_path):
    settings = load_settings(None, environ={"VERBATIM_DB": str(tmp_path / "x.db")})
    assert settings.storage.database == tmp_path / "x.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[retrieval]\ntop_k = 0\n", "retrieval.top_k"),
        ("[retrieval]\ntopk = 3\n", "retrieval.topk"),
        ("[nope]\n", "[nope]"),
        ("[retrieval]\nk1 = 'high'\n", "retrieval.k1"),
        ("not toml =", "not valid TOML"),
        ("[discord]\nsupport_role = 'admins'\n", "discord.support_role"),
        ("[discord]\nsupport_role = true\n", "discord.support_role"),
        ("[retrieval]\nreader_pool = 0\n", "retrieval.reader_pool"),
        ("[retrieval]\nreader_nearest = 11\n", "retrieval.reader_nearest"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(path, environ={})


def test_the_support_role_is_a_role_id_or_unset(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[discord]\nsupport_role = 1234567890\n")
    assert load_settings(path, environ={}).discord.support_role == 1234567890
    assert Settings().discord.support_role is None


def test_the_readers_pool_reaches_the_decision(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[retrieval]\nreader_pool = 6\nreader_nearest = 2\n")
    decision = load_settings(path, environ={}).retrieval.decision()
    assert (decision.pool, decision.nearest_pool) == (6, 2)
