"""The explicit rule that decides which ACLED events count as aid diversion.

ACLED has no "aid diversion" event type, so riskcast counts an event as aid diversion when

* its ``sub_event_type`` is one of :attr:`AidRule.sub_event_types` (default
  "Looting/property destruction"), **or**
* its ``notes`` match any of the regular expressions :attr:`AidRule.note_patterns`
  (case-insensitive; defaults: aid, humanitarian, NGO, food distribution, and convoys
  that carry aid or food) and its ``event_type`` is not in
  :attr:`AidRule.exclude_event_types` (default "Protests": a protest *about* aid is not
  aid being diverted).

Each event counts once however many parts of the rule it meets. The rule is a proxy: the
looting sub-type also covers looting that has nothing to do with aid, and a note may name an
NGO only as the source of a report. It is configurable ([data.sources.aid_rule] in
``riskcast.toml``) so analysts can tighten it and compare.

A bare "convoy" (or "supply convoy") is not in the defaults on purpose: in the Sahel files
almost every convoy in the notes is an army, police or peacekeeper convoy. Measured with
pandas ``str.contains`` on the ACLED HDX exports: a bare ``\bconvoys?\b`` matches 123 notes
in acled_events_mli.csv, 28 in _bfa and 31 in _ner; the qualified default patterns keep 2,
1 and 0 of them (NGO and aid convoys).
"""

from __future__ import annotations

import re

import pandas as pd
from pydantic import Field, field_validator

from riskcast.config import StrictSection

DEFAULT_NOTE_PATTERNS: tuple[str, ...] = (
    r"\baid\b",
    r"\bhumanitarian",
    r"\bNGOs?\b",
    r"\bnon-governmental organi[sz]ation",
    r"\bfood distribution",
    r"\b(?:aid|humanitarian|relief|food|NGO|WFP|UNHCR|UNICEF|ICRC)\s+(?:\w+\s+)?convoys?\b",
    r"\bconvoys?\s+(?:of|carrying|transporting)\s+(?:\w+\s+)?(?:aid|food|relief|humanitarian)",
)


class AidRule(StrictSection):
    """Which ACLED events count as aid diversion (see the module docstring).

    Attributes:
        sub_event_types: ACLED sub_event_type values that always count.
        note_patterns: regular expressions searched in ``notes`` (case-insensitive).
        exclude_event_types: event_type values whose note matches do not count.
    """

    sub_event_types: tuple[str, ...] = ("Looting/property destruction",)
    note_patterns: tuple[str, ...] = DEFAULT_NOTE_PATTERNS
    exclude_event_types: tuple[str, ...] = Field(default=("Protests",))

    @field_validator("note_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"note pattern {pattern!r} is not a regular expression: {exc}"
                ) from None
        return patterns

    def combined_pattern(self) -> re.Pattern[str] | None:
        """All note patterns as one case-insensitive alternation (None when there are none)."""
        if not self.note_patterns:
            return None
        return re.compile("|".join(f"(?:{p})" for p in self.note_patterns), re.IGNORECASE)


def aid_diversion_mask(events: pd.DataFrame, rule: AidRule) -> pd.Series:
    """True for each event (row) the rule counts as aid diversion; vectorised.

    Args:
        events: ACLED events with ``sub_event_type``; ``notes`` and ``event_type`` are used
            when present (the 15-column API pull has no notes: only the sub-type applies).
        rule: the rule.

    Returns:
        A boolean Series aligned with ``events``.
    """
    by_type = events["sub_event_type"].isin(rule.sub_event_types)
    pattern = rule.combined_pattern()
    if pattern is None or "notes" not in events:
        return by_type
    by_notes = events["notes"].fillna("").astype(str).str.contains(pattern, regex=True)
    if "event_type" in events and rule.exclude_event_types:
        by_notes &= ~events["event_type"].isin(rule.exclude_event_types)
    return by_type | by_notes
