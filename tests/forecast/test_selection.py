"""Nested selection: the choice is made on early origins and can never read the scored ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import panels
from forecast.selection import Candidate, check_nested, choose, nested_backtest
from riskcast.errors import InputError

P = lambda text: pd.Period(text, "M")  # noqa: E731


def test_overlapping_or_late_selection_origins_are_refused():
    scoring = [P("2019-01"), P("2019-02")]
    with pytest.raises(InputError, match="overlap"):
        check_nested([P("2018-01"), P("2019-01")], scoring, 3)
    with pytest.raises(InputError, match="reaches past the first scoring origin"):
        check_nested([P("2018-11")], scoring, 3)  # 2018-11 + 3 = 2019-02 > 2019-01
    with pytest.raises(InputError, match="needs selection and scoring"):
        check_nested([], scoring, 3)
    check_nested([P("2018-10")], scoring, 3)  # 2018-10 + 3 = 2019-01: seen at that origin


def test_choose_reads_the_criterion_of_the_summary_it_is_given():
    summary = pd.DataFrame(
        {"model": ["conflictology", "a", "b"], "crps_log": [1.0, 0.9, 1.1],
         "brier": [0.1, 0.1, 0.05]}
    )  # fmt: skip
    candidates = [Candidate("a", "x"), Candidate("b", "y")]
    # a: (0.9 + 1.0)/2 = 0.95; b: (1.1 + 0.5)/2 = 0.8
    assert choose(summary, candidates).label == "b"


def _swap_after(panel: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    """The panel with every fatality after ``month`` set to zero."""
    changed = panel.copy()
    later = (changed["month"] > month) & (changed["series"] == "fatalities")
    changed.loc[later, "value"] = 0.0
    return changed


def test_a_choice_never_reads_the_scored_origins(panel, registry):
    """If selection read the scored months, zeroing them would make `zero` win; it must not.

    After 2019-12 every fatality becomes 0, so on the scoring origins `zero` is perfect
    and conflictology is not; the selection (origins ≤ 2018-12, outcomes ≤ 2019-12) must
    still choose conflictology, with exactly the criteria it has on the unchanged panel.
    """
    candidates = [Candidate("conflictology", "conflictology"), Candidate("zero", "zero")]
    kwargs = {
        "selection_origins": list(pd.period_range("2017-01", "2018-12", freq="M")),
        "scoring_origins": list(pd.period_range("2019-12", "2020-06", freq="M")),
        "horizon": 12,
        "n_draws": 100,
        "progress": False,
    }
    honest = nested_backtest(panel, registry, candidates, **kwargs)
    zeroed = nested_backtest(_swap_after(panel, P("2019-12")), registry, candidates, **kwargs)
    assert honest.chosen.label == zeroed.chosen.label == "conflictology"
    pd.testing.assert_frame_equal(honest.criteria, zeroed.criteria)
    months = pd.PeriodIndex(zeroed.selection.scores["month"], freq="M")
    assert months.max() <= P("2019-12")
    scored = zeroed.scoring.summary().set_index("model")
    assert scored.loc["zero", "crps_log"] < scored.loc["conflictology", "crps_log"]


@pytest.mark.slow
@pytest.mark.skipif(not panels.MALI_FILE.exists(), reason="../shared/data Mali workbook absent")
def test_nested_backtest_on_real_mali_never_shows_selection_the_scored_origins():
    """Mali admin1 (ACLED), pooled_gbm candidates: selection sees only months ≤ 2016-01."""
    panel = panels.mali_panel()
    registry = panels.registry_or_none()
    candidates = [
        Candidate("pooled tilt", "pooled_gbm", {"mix": 0.5, "refit_months": 12}),
        Candidate("pooled no tilt", "pooled_gbm", {"mix": 0.5, "tilt": False}),
    ]
    selection = list(pd.period_range("2014-10", "2015-01", freq="M"))
    scoring = list(pd.period_range("2016-01", "2016-03", freq="M"))
    kwargs = {
        "selection_origins": selection,
        "scoring_origins": scoring,
        "horizon": 12,
        "n_draws": 200,
        "progress": False,
    }
    result = nested_backtest(panel, registry, candidates, **kwargs)
    chosen_scores = result.scoring.scores
    selection_scores = result.selection.scores
    assert set(selection_scores["origin"]) == {o.strftime("%Y-%m") for o in selection}
    assert pd.PeriodIndex(selection_scores["month"], freq="M").max() <= scoring[0]
    assert result.chosen.label in set(chosen_scores["model"])
    assert set(result.criteria.index) == {"conflictology", "pooled tilt", "pooled no tilt"}
    # Rewrite every month after the first scored origin: the choice and the criteria
    # (every number selection computed) stay identical; the reported scores do not.
    shuffled = panel.copy()
    later = shuffled["month"] > scoring[0]
    shuffled.loc[later, "value"] = np.random.default_rng(0).permutation(
        shuffled.loc[later, "value"].to_numpy()
    )
    again = nested_backtest(shuffled, registry, candidates, **kwargs)
    assert again.chosen == result.chosen
    pd.testing.assert_frame_equal(again.criteria, result.criteria)
    assert not again.scoring.scores["crps_log"].equals(result.scoring.scores["crps_log"])
