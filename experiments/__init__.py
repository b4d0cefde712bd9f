"""Experiments: every backtest and refit recorded in MLflow, leaderboards and the champion.

Entry points other layers call:

* :func:`experiments.runs.log_backtest` / :func:`experiments.runs.log_refit` — record runs;
* :func:`experiments.champion.champion_model_name` — the model the weekly refit uses;
* :func:`experiments.compare.leaderboard_json` — the comparison the HTTP API serves;
* :func:`experiments.tracking.ui_command` — how to open ``mlflow ui`` on the store.

Modules import MLflow, so import them where needed, not at CLI start-up.
"""
