"""The design cube the feature-based models read: features of every region at every origin.

``negbin_glm`` and ``prophet`` both ask the features layer for the task's regions at many
origins (:func:`build_task_features`), turn the frame into a ``(origin, region, feature)``
cube (:func:`design_cube`), drop collinear columns and standardise what is left
(:class:`Scaler`). A module of its own because it is shared, and because it is data
preparation, not a likelihood.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecast.base import ForecastTask

log = logging.getLogger("forecast.models.glm")

KEY_COLUMNS = ("region", "origin")


def build_task_features(
    task: ForecastTask, origins: list[pd.Period], feature_config: Any = None
) -> pd.DataFrame:
    """Features of every task region at ``origins`` via the features layer.

    Why a wrapper: the models read the features one way (same config, same regions) and a
    failure inside the features layer surfaces with the model's name on it.
    """
    from features.build import build_features

    return build_features(
        task.panel,
        task.registry,
        feature_config if feature_config is not None else task.features,
        target=task.series,
        origins=origins,
        regions=list(task.regions),
    )


def design_cube(
    features: pd.DataFrame, months: pd.PeriodIndex, regions: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Arrange a (region, origin) feature frame as a ``(month, region, feature)`` cube.

    Non-numeric columns are ignored; ``month_of_year`` becomes its sine and cosine (a
    linear month number is meaningless under a log link). Missing rows are NaN. Each column
    is scattered straight into the cube (at 10,000 regions a copy of the frame is 600 MB).
    """
    numeric = [
        c
        for c in features.columns
        if c not in KEY_COLUMNS
        and (pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c]))
    ]
    columns = [c for c in numeric if c != "month_of_year"]
    if "month_of_year" in numeric:
        columns += ["month_sin", "month_cos"]
    region_pos = pd.Index(list(regions)).get_indexer(features["region"])
    month_pos = months.get_indexer(pd.PeriodIndex(features["origin"], freq="M"))
    inside = (region_pos >= 0) & (month_pos >= 0)
    where = (month_pos[inside], region_pos[inside])
    cube = np.full((len(months), len(regions), len(columns)), np.nan)
    for j, column in enumerate(columns):
        if column in ("month_sin", "month_cos"):
            angle = 2 * np.pi * (features["month_of_year"].to_numpy(dtype=float) - 1) / 12
            values = np.sin(angle) if column == "month_sin" else np.cos(angle)
        else:
            values = features[column].to_numpy(dtype=np.float64, na_value=np.nan)
        cube[where + (j,)] = values[inside]
    return cube, columns


def independent_columns(z: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
    """Boolean mask of a maximal set of linearly independent columns (pivoted QR).

    Why: the feature set holds exact and near-exact duplicates (a 3-month sum and mean, a
    region's own and its parent's series where they coincide); with a rank-deficient design
    IRLS oscillates and never converges.
    """
    from scipy import linalg

    keep = np.zeros(z.shape[1], dtype=bool)
    if z.shape[1] == 0:
        return keep
    design = np.column_stack([np.ones(len(z)), z])
    _, r, pivots = linalg.qr(design, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > tolerance * diagonal[0]))
    chosen = pivots[:rank]
    keep[chosen[chosen > 0] - 1] = True
    return keep


class Scaler:
    """log1p for non-negative columns, standardise, drop constant and collinear columns,
    clip at ±6 — learnt on the training rows by :meth:`fit`, applied to new rows by calling it.
    """

    def __init__(
        self, logged: np.ndarray, center: np.ndarray, scale: np.ndarray, keep: np.ndarray
    ) -> None:
        self.logged, self.center, self.scale, self.keep = logged, center, scale, keep

    @classmethod
    def fit(cls, train: np.ndarray) -> tuple[Scaler, np.ndarray]:
        """The scaler of ``train`` and ``train`` transformed by it.

        Why both at once: the transformed training rows are needed to find collinear
        columns anyway, and transforming 200,000 rows twice more cost a fifth of a fit.
        """
        finite = np.where(np.isfinite(train), train, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            logged = np.nanmin(finite, axis=0) >= 0
            moved = log_columns(finite, logged)
            center = np.nanmean(moved, axis=0)
            scale = np.nanstd(moved, axis=0)
        keep = np.isfinite(scale) & (scale > 1e-9)
        scaler = cls(logged, center, scale, keep)
        z = scaler._standardise_logged(moved)
        keep[keep] = independent_columns(z[:, keep])
        return scaler, z[:, keep]

    def _standardise_logged(self, moved: np.ndarray) -> np.ndarray:
        safe_scale = np.where(np.isfinite(self.scale) & (self.scale > 1e-9), self.scale, 1.0)
        z = (moved - self.center) / safe_scale
        return np.clip(np.nan_to_num(z, nan=0.0), -6, 6)  # missing → the training mean

    def __call__(self, x: np.ndarray) -> np.ndarray:
        finite = np.where(np.isfinite(x), x, np.nan)
        return self._standardise_logged(log_columns(finite, self.logged))[:, self.keep]


def log_columns(x: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """log1p of the ``logged`` columns (clipped at 0), the others as they are."""
    return np.where(logged, np.log1p(np.clip(x, 0, None)), x)
