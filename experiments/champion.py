"""The champion: the registered model version the scheduled refit uses.

Models are registered under ``[experiments] registered_model`` (``riskcast``); the alias
``champion`` marks the version in production. :func:`promote` moves the alias only when the
candidate beats the current champion on the primary metric — ``crps_log``, the CRPS on
``log1p`` counts (lower is better), chosen over plain CRPS so that a few very violent months
do not decide the ranking alone — over the *same* backtest origins, regions, horizon, series
and data fingerprint. ``force=True`` overrides the check and must say why; the reason is
recorded as a tag on the run and on the model version.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from experiments import tracking
from experiments.compare import COMPARABLE_ON
from experiments.config import experiments_config
from riskcast.errors import RiskcastError, StoreUnavailableError

log = logging.getLogger(__name__)

ALIAS = "champion"
_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


@dataclass(frozen=True)
class Champion:
    """The model version behind the ``champion`` alias."""

    version: str
    run_id: str
    model: str


@dataclass(frozen=True)
class Promotion:
    """What :func:`promote` did, for the CLI and the logs."""

    version: str
    run_id: str
    model: str
    metric: str
    candidate_score: float | None
    previous_run_id: str | None
    previous_score: float | None
    forced: bool
    reason: str | None

    def describe(self) -> str:
        """One line for people."""
        text = f"run {self.run_id} ({self.model}) is now champion, model version {self.version}"
        if self.previous_run_id and self.candidate_score is not None and self.previous_score:
            text += (
                f"; {self.metric} {self.candidate_score:.4f} vs {self.previous_score:.4f} "
                f"of run {self.previous_run_id}"
            )
        if self.forced:
            text += f"; forced: {self.reason}"
        return text


def _registered_name() -> str:
    return experiments_config().registered_model


def champion() -> Champion | None:
    """The current champion, or None when no model carries the alias yet.

    Raises:
        StoreUnavailableError: when the registry cannot be reached (the caller decides
            whether to fall back; a silent fallback would hide which model made a forecast).
    """
    client = tracking.client()
    try:
        version = client.get_model_version_by_alias(_registered_name(), ALIAS)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return None
        raise StoreUnavailableError(f"MLflow model registry unavailable: {exc}") from exc
    if not version.run_id:
        return None
    run = client.get_run(version.run_id)
    model = run.data.params.get("model") or run.data.tags.get("model", "")
    return Champion(version=str(version.version), run_id=version.run_id, model=model)


def champion_model_name(default: str) -> tuple[str, str | None]:
    """The model name the weekly refit should use, and the champion run it came from.

    Args:
        default: the configured model (``[forecast] model``) used while no champion exists.

    Returns:
        ``(model_name, run_id)`` of the champion, or ``(default, None)`` when none is set.

    Raises:
        StoreUnavailableError: when the MLflow store or registry is down.
    """
    model, run_id, _ = champion_model_version(default)
    return model, run_id


def champion_model_version(default: str) -> tuple[str, str | None, str | None]:
    """Like :func:`champion_model_name`, plus the registered model version (None without
    a champion), so a refit can record exactly which version made it."""
    try:
        current = champion()
    except MlflowException as exc:
        raise StoreUnavailableError(f"MLflow store unavailable: {exc}") from exc
    if current is None or not current.model:
        return default, None, None
    return current.model, current.run_id, current.version


def _comparability(run: Run) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for column, label in COMPARABLE_ON.items():
        kind, key = column.split(".", 1)
        source = run.data.tags if kind == "tags" else run.data.params
        values[label] = source.get(key)
    return values


def _model_uri(run: Run) -> str:
    return run.data.tags.get("model_uri") or f"runs:/{run.info.run_id}/model"


def _get_run(client: MlflowClient, run_id: str) -> Run:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        raise RiskcastError(f"run {run_id} not found in {tracking.tracking_uri()}") from exc


def promote(
    run_id: str, *, force: bool = False, reason: str | None = None, metric: str | None = None
) -> Promotion:
    """Make the model of backtest run ``run_id`` the champion, if it earns it.

    The candidate must have been scored on the same origins, regions, horizon, series and
    data fingerprint as the current champion and have a strictly lower ``metric`` (default
    ``[experiments] primary_metric`` = ``crps_log``). The first candidate becomes champion
    when none exists.

    Args:
        run_id: a backtest model run (or, with ``force``, any run that logged a model).
        force: skip the comparison; requires ``reason``.
        reason: why the comparison was skipped; recorded as tag ``promotion_reason``.
        metric: the metric to compare on.

    Raises:
        RiskcastError: candidate is worse or equal, not comparable, has no score or no model,
            or ``force`` without a reason.
    """
    metric = metric or experiments_config().primary_metric
    if force and not (reason and reason.strip()):
        raise RiskcastError("--force needs --reason: say why the comparison is skipped")
    client = tracking.client()
    candidate = _get_run(client, run_id)
    candidate_score = candidate.data.metrics.get(metric)
    current = champion()
    previous_score: float | None = None
    if current is not None and current.run_id == run_id:
        raise RiskcastError(f"run {run_id} is already the champion (version {current.version})")
    if not force:
        if candidate_score is None or not math.isfinite(candidate_score):
            raise RiskcastError(
                f"run {run_id} has no {metric} from a backtest; promote a backtest model run "
                "or use --force --reason"
            )
        if current is not None:
            incumbent = client.get_run(current.run_id)
            previous_score = incumbent.data.metrics.get(metric)
            if previous_score is None:
                raise RiskcastError(
                    f"the champion (run {current.run_id}) has no {metric} to beat; "
                    "use --force --reason to replace it"
                )
            mine, theirs = _comparability(candidate), _comparability(incumbent)
            differing = [k for k in mine if mine[k] != theirs[k]]
            if differing:
                raise RiskcastError(
                    f"cannot compare run {run_id} with the champion run {current.run_id}: "
                    f"scored on different {', '.join(differing)}. Backtest both on the same "
                    "origins and data (e.g. rerun the spec), or use --force --reason"
                )
            if not candidate_score < previous_score:
                raise RiskcastError(
                    f"run {run_id} does not beat the champion: {metric} {candidate_score:.4f} "
                    f"vs {previous_score:.4f} (run {current.run_id}, lower is better)"
                )
    elif current is not None:
        previous_score = client.get_run(current.run_id).data.metrics.get(metric)

    name = _registered_name()
    try:
        version = mlflow.register_model(_model_uri(candidate), name)
    except MlflowException as exc:
        raise RiskcastError(f"run {run_id} has no loggable model to register: {exc}") from exc
    client.set_registered_model_alias(name, ALIAS, version.version)
    model = candidate.data.params.get("model") or candidate.data.tags.get("model", "")
    version_tags = {
        "model": model,
        "primary_metric": metric,
        "forced": str(force).lower(),
        "previous_champion_run_id": current.run_id if current else "",
    }
    if candidate_score is not None:
        version_tags[metric] = f"{candidate_score:.6g}"
    if force:
        version_tags["promotion_reason"] = reason or ""
        client.set_tag(run_id, "promotion_reason", reason or "")
    for key, value in version_tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    client.set_tag(run_id, "promoted_version", str(version.version))
    result = Promotion(
        version=str(version.version),
        run_id=run_id,
        model=model,
        metric=metric,
        candidate_score=candidate_score,
        previous_run_id=current.run_id if current else None,
        previous_score=previous_score,
        forced=force,
        reason=reason if force else None,
    )
    log.info("%s", result.describe())
    return result


def promote_best(*, force: bool = False, reason: str | None = None) -> str:
    """Promote the winner of the newest comparable backtest set, by the rule of :func:`promote`.

    The documented path after ``make run``: the top row of ``riskcast experiments compare``
    (default experiment, newest set, ranked by the primary metric) is the candidate. When it
    is already the champion, or does not strictly beat it, the champion is kept and the
    returned line says why: re-running the same backtest must not fail ``make run``.

    Returns:
        One line for people: what was promoted, or why the champion was kept.

    Raises:
        RiskcastError: no backtest logged yet, or a candidate that cannot be compared with
            the champion (other origins or data: rerun the backtest, or ``--force --reason``).
    """
    from experiments.compare import leaderboard

    table = leaderboard(latest=True)
    top = table.iloc[0]
    run_id, model, metric = str(top["run_id"]), str(top["model"]), table.attrs["metric"]
    current = champion()
    if current is not None and not force:
        incumbent = tracking.client().get_run(current.run_id)
        theirs = incumbent.data.metrics.get(metric)
        same_set = _comparability(incumbent) == _comparability(_get_run(tracking.client(), run_id))
        if current.run_id == run_id or (
            same_set and theirs is not None and not float(top[metric]) < theirs
        ):
            return (
                f"champion kept: {current.model} (run {current.run_id}, version "
                f"{current.version}); the best of the newest backtest, {model} (run {run_id}, "
                f"{metric} {float(top[metric]):.4f}), does not beat it"
            )
    return promote(run_id, force=force, reason=reason).describe()
