"""The [features] and [events] sections: defaults, strictness, and the feature-set hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.config import FeatureConfig, feature_set_hash
from jobs.config import load_config
from riskcast.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "riskcast.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sections_are_read_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[features]
lags = [12, 1, 3]
gaps = "zero"

[events]
builtin = false

[[events.list]]
name = "flood"
region = "ML05"
start = "2020-08"
end = "2020-10"
""",
    )
    config = load_config(path).features
    assert config.lags == [1, 3, 12]
    assert config.gaps == "zero"
    assert [event.name for event in config.events.all_events()] == ["flood"]


def test_defaults_without_a_file_section(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "")).features
    assert config == FeatureConfig()
    assert config.gaps == "nan"
    assert {event.name for event in config.events.all_events()} == {"coup", "minusma"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[features]\nlag = [1]\n", "did you mean 'lags'"),
        ('[features]\ngaps = "zeros"\n', r"\[features\] gaps"),
        ('[features]\nspatial_quantities = ["roll3_median"]\n', "not a feature quantity"),
        ('[features]\ncross_series = ["Aid Diversion"]\n', "snake_case"),
        ("[features]\nlags = [0]\n", r"lags"),
        ('[[events.list]]\nname = "x"\nregion = "A"\nstart = "2020-3"\n', "YYYY-MM"),
        (
            '[[events.list]]\nname = "x"\nregion = "A"\nstart = "2020-03"\nend = "2020-01"\n',
            "before start",
        ),
        ('[[events.list]]\nname = "x"\nregion = "A"\nstart = "2020-03"\nkind = "pulse"\n', "kind"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_hash_is_stable_and_follows_content() -> None:
    base = feature_set_hash(FeatureConfig())
    assert base == feature_set_hash(FeatureConfig())
    assert len(base) == 16 and int(base, 16) >= 0
    assert feature_set_hash(FeatureConfig(lags=[12, 6, 3, 2, 1, 1])) == base  # normalised
    assert feature_set_hash(FeatureConfig(lags=[1, 2])) != base
    assert feature_set_hash(FeatureConfig(gaps="zero")) != base
    events_off = FeatureConfig().model_copy(
        update={"events": FeatureConfig().events.model_copy(update={"builtin": False})}
    )
    assert feature_set_hash(events_off) != base
