"""Command-line commands of the `features` layer, mounted on the `riskcast` app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from riskcast.errors import InputError
from riskcast.invocation import loaded_config
from riskcast.months import format_month, parse_month, parse_month_span


def _origins(text: str) -> list[pd.Period]:
    """``YYYY-MM`` or a span ``START:END[:STEP]``."""
    return parse_month_span(text) if ":" in text else [parse_month(text, field="origin")]


def check_output_path(out: Path) -> None:
    """Refuse an output format before any work is done.

    Raises:
        InputError: naming the file when its suffix is not ``.parquet`` or ``.csv``.
    """
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError("write .parquet or .csv", file=str(out), field="--out")


def write_matrix(matrix: pd.DataFrame, out: Path) -> None:
    """Write the matrix as Parquet or CSV (by suffix), months as ``YYYY-MM`` strings.

    Raises:
        InputError: for any other suffix.
    """
    check_output_path(out)
    suffix = out.suffix.lower()
    on_disk = matrix.assign(origin=[format_month(month) for month in matrix["origin"]])
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    if suffix == ".parquet":
        on_disk.to_parquet(partial, index=False)
    else:
        on_disk.to_csv(partial, index=False)
    partial.replace(out)  # never leave a half-written file under the real name


def features_command(
    origin: Annotated[
        str, typer.Option("--origin", help="Forecast origin YYYY-MM, or a span START:END[:STEP].")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the matrix to this .parquet or .csv file.")
    ] = None,
    target: Annotated[str, typer.Option("--target", help="The series to forecast.")] = "fatalities",
) -> None:
    """Build the feature matrix (one row per region) for the stored panel as of ORIGIN."""
    from data.store import open_store  # the data layer; imported late to keep --help fast
    from features.build import build_features
    from features.config import feature_set_hash

    if out is not None:
        check_output_path(out)
    origins = _origins(origin)
    loaded = loaded_config()
    config = loaded.features
    store = open_store(config=loaded.data)
    panel = store.load_panel(until=origins[-1])
    if panel.empty:
        raise InputError(
            f"the store holds no data up to {format_month(origins[-1])}: run `riskcast ingest "
            "FILE` (or `riskcast demo-data` for synthetic data) first",
            field="--origin",
        )
    matrix = build_features(panel, store.registry(), config, target=target, origins=origins)
    n_features = matrix.shape[1] - 2
    label = " (synthetic demo data)" if store.is_synthetic() else ""
    summary = (
        f"{len(matrix)} rows × {n_features} features, origin {origin}, target {target}, "
        f"feature set {feature_set_hash(config)}{label}"
    )
    if out is None:
        typer.echo(matrix.to_string(max_rows=20, max_cols=8))
        typer.echo(summary)
        return
    write_matrix(matrix, out)
    typer.echo(f"wrote {summary} to {out}")


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `riskcast` app."""
    app.command("features")(features_command)
