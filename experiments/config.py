"""The ``[experiments]`` section, and the one this process was configured with.

Apart from :mod:`experiments.tracking` so that reading the config does not import MLflow
(a second of start-up that most ``riskcast`` commands never need).
"""

from __future__ import annotations

from pydantic import Field

from riskcast.config import StrictSection

BACKTEST_EXPERIMENT = "riskcast-backtests"
REFIT_EXPERIMENT = "riskcast-refits"


class ExperimentsConfig(StrictSection):
    """The ``[experiments]`` section.

    Attributes:
        tracking_uri: MLflow store; empty = ``sqlite:///<home>/mlflow.db``.
            ``MLFLOW_TRACKING_URI`` in the environment wins over this key.
        backtest_experiment: MLflow experiment that receives backtests.
        refit_experiment: MLflow experiment that receives production refits.
        registered_model: name of the registered model whose ``champion`` alias the weekly
            refit uses.
        primary_metric: metric promotion and the leaderboard rank by (lower is better);
            ``crps_log`` (CRPS on log1p counts) so a few huge months do not drown every other
            region-month, as in the VIEWS prediction challenge.
        top_regions: fan charts logged per run (regions with the highest predicted mean).
    """

    tracking_uri: str | None = None
    backtest_experiment: str = BACKTEST_EXPERIMENT
    refit_experiment: str = REFIT_EXPERIMENT
    registered_model: str = "riskcast"
    primary_metric: str = "crps_log"
    top_regions: int = Field(default=3, ge=0, le=50)


_configured = ExperimentsConfig()


def configure(config: ExperimentsConfig) -> None:
    """Use ``config`` (the entry point's ``[experiments]``) for this process's MLflow work.

    Process-wide on purpose, as MLflow's own tracking URI is: ``riskcast``, the service and
    each job run call it once, right after loading the config.
    """
    global _configured
    _configured = config


def experiments_config() -> ExperimentsConfig:
    """The ``[experiments]`` section the entry point configured (defaults until then)."""
    return _configured
