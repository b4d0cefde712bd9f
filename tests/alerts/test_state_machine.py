"""The persisted alert state machine: thresholds, hysteresis, for-N-refits, notify once,
resolve, idempotent re-evaluation and data-quality holds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from alerts.evaluate import evaluate_alerts
from alerts.quality import QualityFlag
from alerts.rules import AlertConfig, RuleOverride
from alerts.state import list_alerts, list_deliveries, list_transitions
from jobs.config import load_config
from riskcast.errors import ConfigError, InputError
from tests.alerts.conftest import RecordingNotifier, risk


def run(engine, values, refit, config, notifier, **kwargs):
    return evaluate_alerts(
        engine, risk(values), refit_id=refit, config=config, notifiers=[notifier], **kwargs
    )


def states(engine) -> dict[str, str]:
    return {row["region"]: row["state"] for row in list_alerts(engine)}


def test_fires_once_and_stays_firing_inside_the_hysteresis_band(engine, config, notifier):
    first = run(engine, {"ML05": 0.62, "ML06": 0.10}, "r1", config, notifier)
    assert [(t.region, t.from_state, t.to_state) for t in first] == [("ML05", "inactive", "firing")]
    assert first[0].delivery_status == "delivered"
    # Still high, then inside the band (0.35 ≤ p < 0.5): no new transition, nothing sent.
    assert run(engine, {"ML05": 0.70, "ML06": 0.10}, "r2", config, notifier) == []
    assert run(engine, {"ML05": 0.40, "ML06": 0.10}, "r3", config, notifier) == []
    assert states(engine)["ML05"] == "firing"
    resolved = run(engine, {"ML05": 0.20, "ML06": 0.10}, "r4", config, notifier)
    assert [(t.from_state, t.to_state) for t in resolved] == [("firing", "resolved")]
    assert resolved[0].ends_at is not None and resolved[0].starts_at == first[0].starts_at
    assert [(t.region, t.to_state) for t in notifier.sent] == [
        ("ML05", "firing"),
        ("ML05", "resolved"),
    ]


def test_resolved_alert_can_fire_again(engine, config, notifier):
    run(engine, {"ML05": 0.9}, "r1", config, notifier)
    run(engine, {"ML05": 0.1}, "r2", config, notifier)
    again = run(engine, {"ML05": 0.55}, "r3", config, notifier)
    assert [(t.from_state, t.to_state) for t in again] == [("resolved", "firing")]
    assert [t.to_state for t in notifier.sent] == ["firing", "resolved", "firing"]
    assert len({t.fingerprint for t in notifier.sent}) == 1  # same alert identity


def test_for_n_refits_goes_through_pending(engine, notifier):
    config = AlertConfig(threshold=0.5, resolve_below=0.3, for_refits=3)
    assert [t.to_state for t in run(engine, {"A": 0.6}, "r1", config, notifier)] == ["pending"]
    assert run(engine, {"A": 0.6}, "r2", config, notifier) == []  # still pending, streak 2
    assert notifier.sent == []  # pending is recorded, never sent
    fired = run(engine, {"A": 0.6}, "r3", config, notifier)
    assert [(t.from_state, t.to_state) for t in fired] == [("pending", "firing")]
    assert [t.to_state for t in notifier.sent] == ["firing"]


def test_pending_that_drops_is_cancelled_without_notification(engine, notifier):
    config = AlertConfig(threshold=0.5, resolve_below=0.3, for_refits=2)
    run(engine, {"A": 0.6}, "r1", config, notifier)
    cancelled = run(engine, {"A": 0.45}, "r2", config, notifier)
    assert [(t.from_state, t.to_state) for t in cancelled] == [("pending", "inactive")]
    assert cancelled[0].delivery_status == "not_sent"
    # The streak restarts: one refit above is not enough again.
    assert [t.to_state for t in run(engine, {"A": 0.6}, "r3", config, notifier)] == ["pending"]
    assert notifier.sent == []


def test_same_refit_evaluated_twice_records_and_notifies_once(engine, config, notifier):
    first = run(engine, {"A": 0.8, "B": 0.9}, "r1", config, notifier)
    assert len(first) == 2
    assert run(engine, {"A": 0.8, "B": 0.9}, "r1", config, notifier) == []
    assert run(engine, {"A": 0.0, "B": 0.0}, "r1", config, notifier) == []  # r1 is done
    assert len(notifier.sent) == 2
    assert len(list_transitions(engine)) == 2
    assert len(list_deliveries(engine)) == 2


def test_flagged_data_hold_the_alert_instead_of_resolving(engine, config, notifier):
    run(engine, {"ML10": 0.8}, "r1", config, notifier)
    flag = QualityFlag("ML10", "fatalities", "zero_after_gap", "3 months missing, then zeros")
    held = run(engine, {"ML10": 0.05}, "r2", config, notifier, data_quality=[flag])
    assert held == []
    row = list_alerts(engine)[0]
    assert row["state"] == "firing" and "zero_after_gap" in row["note"]
    assert [t.to_state for t in notifier.sent] == ["firing"]
    # A flag on another region does not hold this one.
    other = QualityFlag("ML11", "fatalities", "silent", "no data since 2021-06")
    resolved = run(engine, {"ML10": 0.05}, "r3", config, notifier, data_quality=[other])
    assert [t.to_state for t in resolved] == ["resolved"]


def test_state_survives_a_new_engine(tmp_path: Path, config):
    url = f"sqlite:///{tmp_path / 'persist.db'}"
    first = create_engine(url)
    run(first, {"A": 0.9}, "r1", config, RecordingNotifier())
    first.dispose()
    second = create_engine(url)
    notifier = RecordingNotifier()
    assert run(second, {"A": 0.9}, "r2", config, notifier) == []  # already firing
    assert [t.to_state for t in run(second, {"A": 0.1}, "r3", config, notifier)] == ["resolved"]
    second.dispose()


def test_region_missing_from_a_refit_keeps_its_state(engine, config, notifier):
    run(engine, {"A": 0.9, "B": 0.1}, "r1", config, notifier)
    assert run(engine, {"B": 0.1}, "r2", config, notifier) == []
    assert states(engine)["A"] == "firing"


def test_overrides_per_region_and_series(engine, notifier):
    config = AlertConfig(
        threshold=0.5,
        resolve_below=0.3,
        overrides={
            "ML01": RuleOverride(threshold=0.8),
            "*/aid_diversion": RuleOverride(threshold=0.2, resolve_below=0.1),
            "ML01/aid_diversion": RuleOverride(for_refits=2),
        },
    )
    ml01 = config.rule_for("ML01", "fatalities")
    assert (ml01.threshold, ml01.resolve_below) == (0.8, pytest.approx(0.6))
    aid = config.rule_for("ML01", "aid_diversion")
    assert (aid.threshold, aid.for_refits) == (0.8, 2)  # region beats */series
    assert config.rule_for("ML02", "aid_diversion").threshold == 0.2
    fired = evaluate_alerts(
        engine,
        risk({"ML01": 0.7, "ML02": 0.7}, series="fatalities"),
        refit_id="r1",
        config=config,
        notifiers=[notifier],
    )
    assert [t.region for t in fired] == ["ML02"]


def test_bad_risk_tables_are_refused_before_anything_is_written(engine, config, notifier):
    with pytest.raises(ConfigError, match="p_any_3"):
        evaluate_alerts(
            engine,
            risk({"A": 0.9}).rename(columns={"p_any_3": "p_any3"}),
            refit_id="r1",
            config=config,
            notifiers=[notifier],
        )
    with pytest.raises(InputError, match="not a probability"):
        run(engine, {"A": 1.7}, "r1", config, notifier)
    duplicated = risk({"A": 0.9})
    with pytest.raises(InputError, match="twice"):
        evaluate_alerts(
            engine,
            pd.concat([duplicated, duplicated]),
            refit_id="r1",
            config=config,
            notifiers=[notifier],
        )
    assert list_transitions(engine) == [] and notifier.sent == []


def test_config_section_rejects_misspellings_and_inverted_bands(tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text(
        '[alerts]\nthreshold = 0.4\nresolve_below = 0.2\n[alerts.overrides."ML05"]\n'
        'threshold = 0.6\n[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n'
    )
    config = load_config(good).alerts
    assert config.rule_for("ML05", "fatalities").threshold == 0.6
    assert config.webhook.url.endswith("/hook")
    typo = tmp_path / "typo.toml"
    typo.write_text("[alerts]\nthreshhold = 0.4\n")
    with pytest.raises(ConfigError, match="did you mean 'threshold'"):
        load_config(typo)
    inverted = tmp_path / "inverted.toml"
    inverted.write_text("[alerts]\nthreshold = 0.4\nresolve_below = 0.6\n")
    with pytest.raises(ConfigError, match="resolve_below"):
        load_config(inverted)
    nested_typo = tmp_path / "nested.toml"
    nested_typo.write_text("[alerts.webhook]\ntimeout = 3\n")
    with pytest.raises(ConfigError, match="timeout"):
        load_config(nested_typo)
