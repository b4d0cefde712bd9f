"""The explicit aid-diversion rule on hand-made ACLED-like events, and its config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.aid_rule import AidRule, aid_diversion_mask
from data.source_options import SourceOptions
from jobs.config import load_config
from riskcast.errors import ConfigError

EVENTS = pd.DataFrame(
    [
        # (event_type, sub_event_type, notes) → expected
        ("Strategic developments", "Looting/property destruction", "Shops looted in Gao.", True),
        ("Violence against civilians", "Attack", "Gunmen looted a WFP food distribution.", True),
        ("Battles", "Armed clash", "Militants ambushed a humanitarian team.", True),
        (
            "Violence against civilians",
            "Abduction/forced disappearance",
            "Two NGO workers abducted near Menaka.",
            True,
        ),
        ("Battles", "Armed clash", "JNIM ambushed an aid convoy near Goundam.", True),
        ("Battles", "Armed clash", "JNIM ambushed an army convoy near Boni.", False),
        ("Battles", "Armed clash", "Militants said the raid succeeded.", False),
        ("Protests", "Peaceful protest", "IDPs protested a lack of humanitarian aid.", False),
        (
            "Strategic developments",
            "Looting/property destruction",
            "Humanitarian warehouse looted.",
            True,
        ),
        ("Battles", "Armed clash", None, False),
    ],
    columns=["event_type", "sub_event_type", "notes", "expected"],
)


def test_default_rule_counts_the_events_it_documents() -> None:
    mask = aid_diversion_mask(EVENTS, AidRule())
    assert mask.tolist() == EVENTS["expected"].tolist()


def test_an_event_meeting_both_parts_counts_once() -> None:
    both = EVENTS.iloc[[8]]
    assert aid_diversion_mask(both, AidRule()).sum() == 1


def test_without_notes_only_the_sub_type_applies() -> None:
    no_notes = EVENTS.drop(columns=["notes"])
    mask = aid_diversion_mask(no_notes, AidRule())
    assert mask.tolist() == (EVENTS["sub_event_type"] == "Looting/property destruction").tolist()


def test_rule_is_configurable() -> None:
    strict = AidRule(sub_event_types=(), note_patterns=(r"\bconvoys?\b",), exclude_event_types=())
    mask = aid_diversion_mask(EVENTS, strict)
    assert mask.tolist() == [False, False, False, False, True, True, False, False, False, False]


def test_options_read_from_the_data_sources_table(tmp_path: Path) -> None:
    config = tmp_path / "riskcast.toml"
    config.write_text(
        "[data.sources]\nzero_fill = false\n[data.sources.aid_rule]\nnote_patterns = ['\\bloot']\n",
        encoding="utf-8",
    )
    options = load_config(config).data.sources
    assert options.zero_fill is False
    assert options.aid_rule.note_patterns == (r"\bloot",)
    assert options.aid_rule.sub_event_types == ("Looting/property destruction",)


def test_options_default_when_the_table_is_absent(tmp_path: Path) -> None:
    config = tmp_path / "riskcast.toml"
    config.write_text("[data]\n", encoding="utf-8")
    assert load_config(config).data.sources == SourceOptions()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[data.sources]\nzero_fil = true\n", "did you mean 'zero_fill'"),
        ("[data.sources.aid_rule]\nnote_pattern = []\n", "did you mean 'note_patterns'"),
        ("[data.sources.aid_rule]\nnote_patterns = ['(unclosed']\n", "not a regular expression"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "riskcast.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(config)
