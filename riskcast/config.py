"""Settings (where things live) and the domain config (what to compute).

Two layers, on purpose:

* :class:`Settings` — deployment facts from the environment (``RISKCAST_HOME``,
  ``RISKCAST_DATABASE_URL``, ``MLFLOW_TRACKING_URI``, ``RISKCAST_API_KEYS``), typed by
  pydantic-settings so a service is configured the twelve-factor way.
* the domain config — one TOML file (``riskcast.toml``) with one section per concern
  (``[features]``, ``[forecast]``, ``[escalation]``, ``[alerts]`` …). Each package owns the
  pydantic model of its own section; an entry point (``riskcast``, the service, a scheduled
  job) reads and validates the whole file once (:mod:`jobs.config`) and passes each function
  the sections it needs. Library code never reads the file. Unknown or misspelled sections
  and keys are errors with a "did you mean" at load time, because a silently ignored key
  once produced an empty but "successful" evaluation in a well-known pipeline.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskcast.errors import ConfigError

REPO_DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "riskcast.toml"


class Settings(BaseSettings):
    """Deployment settings read from the environment.

    Attributes:
        home: folder holding all state (SQLite file, MLflow store, outputs, bulletin).
        database_url: SQLAlchemy URL; default is a SQLite file under ``home``.
        mlflow_tracking_uri: MLflow store; default is SQLite under ``home``.
        api_keys: comma-separated keys that may call the HTTP API's writes.
        config: path of the domain TOML; default ``./riskcast.toml`` if present, else the
            packaged defaults.
    """

    model_config = SettingsConfigDict(env_prefix="RISKCAST_", extra="ignore")

    home: Path = Path("var")
    database_url: str | None = None
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    api_keys: str = ""
    config: Path | None = None

    def resolved_home(self) -> Path:
        """The home folder, created if missing, as an absolute path."""
        home = self.home.expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home

    def resolved_database_url(self) -> str:
        """The database URL: the env value, else ``sqlite:///<home>/riskcast.db``."""
        return self.database_url or f"sqlite:///{self.resolved_home() / 'riskcast.db'}"

    def resolved_mlflow_uri(self) -> str:
        """The MLflow tracking URI: the env value, else ``sqlite:///<home>/mlflow.db``."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.resolved_home() / 'mlflow.db'}"

    def resolved_config_path(self) -> Path:
        """The domain config file that applies."""
        if self.config is not None:
            return self.config
        local = Path("riskcast.toml")
        return local if local.exists() else REPO_DEFAULT_CONFIG

    def api_key_list(self) -> list[str]:
        """The API keys as a list, blanks dropped."""
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]


def get_settings() -> Settings:
    """Settings as the environment says now (not cached: tests move ``RISKCAST_HOME``)."""
    return Settings()


class StrictSection(BaseModel):
    """Base for config sections: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


SectionT = TypeVar("SectionT", bound=StrictSection)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def refuse_unknown_keys(raw: Mapping[str, Any], model: type[BaseModel], where: str) -> None:
    """Refuse a key ``model`` does not declare, with a did-you-mean (``where`` heads the message).

    Raises:
        ConfigError: ``"<where> unknown key 'k' (did you mean 'x'?)"``.
    """
    fields = list(model.model_fields)
    for key in raw:
        if key not in fields:
            raise ConfigError(f"{where} unknown key '{key}'{did_you_mean(key, fields)}")


def _nested_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """The model of field ``key`` when it is itself a section model (a sub-table)."""
    annotation = model.model_fields[key].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def refuse_unknown_keys_deep(raw: Mapping[str, Any], model: type[BaseModel], where: str) -> None:
    """:func:`refuse_unknown_keys`, then the same inside every sub-table (``[a.b]``)."""
    refuse_unknown_keys(raw, model, where)
    for key, value in raw.items():
        inner = _nested_model(model, key)
        if inner is not None and isinstance(value, Mapping):
            refuse_unknown_keys_deep(value, inner, f"{where[:-1]}.{key}]")


def read_config_file(path: Path, known_sections: Sequence[str]) -> dict[str, Any]:
    """Read the domain TOML; a section not in ``known_sections`` is an error (did you mean).

    Only entry points call this (``riskcast``, the service, a scheduled job); they validate
    the whole file at once and pass each section down as an argument.

    Raises:
        ConfigError: a missing file, invalid TOML, or an unknown section.
    """
    if not path.exists():
        if path.resolve() == REPO_DEFAULT_CONFIG:
            return {}  # installed without the repo: every section takes its model's defaults
        raise ConfigError(f"config file {path} does not exist")
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for section in document:
        if section not in known_sections:
            raise ConfigError(
                f"config file {path}: unknown section [{section}]"
                f"{did_you_mean(section, tuple(known_sections))}"
            )
    return document


def validate_section(
    raw: Mapping[str, Any], name: str, model: type[SectionT], **overrides: Any
) -> SectionT:
    """Validate one section's table into its pydantic model (no file is read here).

    Args:
        raw: the section's table as read from the TOML (empty when absent).
        name: the section, e.g. ``"features"``, for messages.
        model: the owning package's :class:`StrictSection` subclass (defaults live there).
        **overrides: values that win over the file (e.g. from CLI flags); None keeps the file's.

    Raises:
        ConfigError: naming the section and key, with a "did you mean" for misspellings.
    """
    table = dict(raw)
    table.update({key: value for key, value in overrides.items() if value is not None})
    refuse_unknown_keys_deep(table, model, f"[{name}]")
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"[{name}] {where}: {first['msg']}") from exc
