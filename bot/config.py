"""Settings: parsed once from TOML (and a few environment variables) into frozen, typed objects."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from bot.errors import ConfigError
from retrieval.answer import DEFAULT_DECISION, DEFAULT_MIN_CONFIDENCE, Decision
from retrieval.rerank import RerankWeights

_FITTED = RerankWeights()
_SOURCE_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def default_seeds() -> Path:
    """The shipped seeds/ folder: beside the source tree, or in the working directory."""
    return _SOURCE_SEEDS if _SOURCE_SEEDS.is_dir() else Path("seeds")


@dataclass(frozen=True)
class StorageSettings:
    """Where the database and the seed corpus live."""

    database: Path = Path("verbatim.db")
    seeds: Path = field(default_factory=default_seeds)


@dataclass(frozen=True)
class RetrievalSettings:
    """How questions are ranked and answered."""

    top_k: int = 3
    # k1, b, the re-ranking weights and min_confidence were chosen on SelQA dev and half of
    # SQuAD dev; see benchmarks/results/quality.md. The re-ranker's other weights (coverage,
    # context, novelty) are fixed in retrieval.rerank.RerankWeights.
    k1: float = 0.9
    b: float = 0.75
    # The reader (retrieval.reader) reads the best candidates with the question; off, answers
    # come from the words alone, as before it.
    reader: bool = True
    # The embedder (retrieval.embedder) finds sentences that say it in other words, for the
    # reader to read; needs the reader.
    semantic: bool = True
    # The confidence an answer needs; under it, the closest passages are shown as "not sure"
    # from closest_confidence, and under that nothing is. Fitted on the tuning halves.
    min_confidence: float = DEFAULT_DECISION.answer_at
    closest_confidence: float = DEFAULT_DECISION.closest_at
    # Without the reader, confidence is the share of the question's weight in the sentence,
    # and this is the threshold tuned for it (docs/answers.md).
    words_min_confidence: float = DEFAULT_MIN_CONFIDENCE
    # How many candidates the reader reads: the re-ranker's best reader_pool, and those of the
    # embedder's nearest reader_nearest that are not among them. Its time follows how many:
    # 6 and 2 answer faster than 8 and 3 and find a little less (docs/answers.md).
    reader_pool: int = DEFAULT_DECISION.pool
    reader_nearest: int = DEFAULT_DECISION.nearest_pool
    context: bool = False
    max_question_chars: int = 2000
    # The configurable re-ranking weights default to the fitted ones the re-ranker holds.
    answer_type_weight: float = _FITTED.answer_type
    proximity_weight: float = _FITTED.proximity
    phrase_weight: float = _FITTED.phrase
    neighbour_weight: float = _FITTED.neighbours
    rerank_candidates: int = _FITTED.candidates

    def decision(self) -> Decision:
        """How the reader's confidence becomes an outcome, with these settings' thresholds."""
        return dataclasses.replace(
            DEFAULT_DECISION,
            answer_at=self.min_confidence,
            closest_at=self.closest_confidence,
            pool=self.reader_pool,
            nearest_pool=self.reader_nearest,
        )

    def rerank_weights(self) -> RerankWeights:
        """The re-ranker's weights with the configurable ones taken from these settings."""
        return dataclasses.replace(
            _FITTED,
            answer_type=self.answer_type_weight,
            proximity=self.proximity_weight,
            phrase=self.phrase_weight,
            neighbours=self.neighbour_weight,
            candidates=self.rerank_candidates,
        )


@dataclass(frozen=True)
class DocumentSettings:
    """Limits on what moderators may add."""

    max_bytes: int = 10_000_000
    fetch_timeout: float = 15.0
    allow_private_urls: bool = False


@dataclass(frozen=True)
class DiscordSettings:
    """The Discord bot's behaviour (the token itself only ever comes from DISCORD_TOKEN)."""

    api_base: str | None = None
    gateway_url: str | None = None
    dev_guilds: tuple[int, ...] = ()
    moderator_roles: tuple[int, ...] = ()
    question_channels: tuple[int, ...] = ()
    message_content_intent: bool = False
    cooldown_seconds: float = 10.0
    cooldown_questions: int = 3
    # The role mentioned when the documents fall short in a question channel or forum post.
    support_role: int | None = None
    # Whether marking a forum post solved also archives it (/solved can say otherwise).
    archive_solved: bool = False


@dataclass(frozen=True)
class PrivacySettings:
    """How long the log keeps questions, and whether user ids are stored hashed."""

    retention_days: int = 0
    hash_user_ids: bool = False


@dataclass(frozen=True)
class Settings:
    """Every setting; see config.example.toml for what each one means."""

    storage: StorageSettings = field(default_factory=StorageSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)


_ENVIRONMENT = {
    "VERBATIM_DB": ("storage", "database"),
    "VERBATIM_SEEDS": ("storage", "seeds"),
    "DISCORD_API_BASE": ("discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("discord", "gateway_url"),
}


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (optional), then the environment; unknown keys fail."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    environ = dict(os.environ) if environ is None else environ
    for variable, (section, key) in _ENVIRONMENT.items():
        if environ.get(variable):
            raw.setdefault(section, {})[key] = environ[variable]
    sections: dict[str, Any] = {}
    for section_field in dataclasses.fields(Settings):
        values = raw.pop(section_field.name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{section_field.name}] must be a table")
        section_type = get_type_hints(Settings)[section_field.name]
        sections[section_field.name] = _section(section_field.name, section_type, values)
    if raw:
        raise ConfigError(f"unknown config section [{next(iter(raw))}]")
    settings = Settings(**sections)
    _validate(settings)
    return settings


def _section(name: str, section_type: type, values: dict[str, Any]) -> Any:
    hints = get_type_hints(section_type)
    parsed: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(f"unknown config key {name}.{key}")
        parsed[key] = _coerce(f"{name}.{key}", hints[key], value)
    return section_type(**parsed)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    text = str(hint)
    try:
        if hint is Path:
            return Path(str(value)).expanduser()
        if hint is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if text == "int | None":
            if value in ("", None):
                return None
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if "tuple[int" in text:
            if not isinstance(value, list):
                raise ValueError(value)
            return tuple(int(item) for item in value)
        if "str" in text:
            return None if value in ("", None) else str(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"config key {key} has an invalid value {value!r}")


def _validate(settings: Settings) -> None:
    checks = [
        (settings.retrieval.top_k >= 1, "retrieval.top_k must be at least 1"),
        (settings.retrieval.k1 >= 0, "retrieval.k1 must not be negative"),
        (0 <= settings.retrieval.b <= 1, "retrieval.b must be between 0 and 1"),
        (0 <= settings.retrieval.min_confidence <= 1, "retrieval.min_confidence must be 0..1"),
        (
            0 <= settings.retrieval.closest_confidence <= settings.retrieval.min_confidence,
            "retrieval.closest_confidence must be 0..min_confidence",
        ),
        (
            0 <= settings.retrieval.words_min_confidence <= 1,
            "retrieval.words_min_confidence must be 0..1",
        ),
        (settings.retrieval.reader_pool >= 1, "retrieval.reader_pool must be at least 1"),
        (
            0 <= settings.retrieval.reader_nearest <= DEFAULT_DECISION.nearest,
            f"retrieval.reader_nearest must be 0..{DEFAULT_DECISION.nearest}",
        ),
        (
            min(
                settings.retrieval.answer_type_weight,
                settings.retrieval.proximity_weight,
                settings.retrieval.phrase_weight,
                settings.retrieval.neighbour_weight,
            )
            >= 0,
            "retrieval re-ranking weights must not be negative",
        ),
        (settings.retrieval.rerank_candidates >= 1, "retrieval.rerank_candidates must be >= 1"),
        (settings.retrieval.max_question_chars >= 1, "retrieval.max_question_chars must be >= 1"),
        (settings.documents.max_bytes >= 1, "documents.max_bytes must be at least 1"),
        (settings.documents.fetch_timeout > 0, "documents.fetch_timeout must be positive"),
        (settings.discord.cooldown_seconds >= 0, "discord.cooldown_seconds must not be negative"),
        (settings.discord.cooldown_questions >= 1, "discord.cooldown_questions must be >= 1"),
        (settings.privacy.retention_days >= 0, "privacy.retention_days must not be negative"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
