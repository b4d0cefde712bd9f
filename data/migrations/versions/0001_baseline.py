"""Baseline: the schema of release 0.1.0, the last one without migrations.

Databases made before migrations had their tables created on first use, one module at a
time, so such a database may hold any subset of these tables: each table and index is
created only where missing, and nothing that exists is touched. A new database gets them
all. This is a frozen copy of the schema at that release; later changes are later
revisions, never edits here.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FILLFACTOR = 90  # % of a PostgreSQL page filled on insert; the rest keeps revisions on the page
QUANTILE_COLUMNS = ("q0.05", "q0.10", "q0.25", "q0.50", "q0.75", "q0.90", "q0.95")


def _baseline() -> sa.MetaData:
    """Every table of release 0.1.0, exactly as that release created them."""
    metadata = sa.MetaData()

    sa.Table(
        "observations",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False, comment="YYYY-MM"),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingests.id"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("region", "month", "series", name="uq_observation_key"),
        sa.Index("ix_observations_series_region_month", "series", "region", "month"),
        sa.Index("ix_observations_month", "month"),
        sa.Index("ix_observations_source", "source"),
    )

    sa.Table(
        "observation_revisions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Double, nullable=False),
        sa.Column("new_value", sa.Double, nullable=False),
        sa.Column("old_source", sa.String(200), nullable=False),
        sa.Column("new_source", sa.String(200), nullable=False),
        sa.Column("old_ingest_id", sa.Integer, sa.ForeignKey("ingests.id"), nullable=False),
        sa.Column("new_ingest_id", sa.Integer, sa.ForeignKey("ingests.id"), nullable=False),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_revisions_key", "region", "series", "month"),
    )

    sa.Table(
        "ingests",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("rows_added", sa.Integer, nullable=False, default=0),
        sa.Column("rows_changed", sa.Integer, nullable=False, default=0),
        sa.Column("rows_unchanged", sa.Integer, nullable=False, default=0),
        sa.Column("rows_outranked", sa.Integer, nullable=False, default=0),
        sa.Column("regions_added", sa.Text, nullable=False, default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_ingests_sha256", "sha256"),
    )

    sa.Table(
        "regions",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent", sa.String(64)),
        sa.Column("iso3", sa.String(3)),
        sa.Column("neighbours", sa.Text, nullable=False, default=""),
        sa.Column("aliases", sa.Text, nullable=False, default=""),
        sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingests.id")),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )

    # -- jobs: runs, leases and locks, the inbox log ------------------------------------------
    sa.Table(
        "job_runs",
        metadata,
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("job_name", sa.String(100), nullable=False, index=True),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("fire_time", sa.DateTime(), nullable=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
    )

    sa.Table(
        "job_leases",
        metadata,
        sa.Column("job_name", sa.String(100), primary_key=True),
        sa.Column("fire_time", sa.DateTime(), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
    )

    sa.Table(
        "job_locks",
        metadata,
        sa.Column("job_name", sa.String(100), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("fire_time", sa.DateTime(), nullable=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
    )

    sa.Table(
        "inbox_files",
        metadata,
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),  # ingesting | ingested | rejected
        sa.Column("error", sa.Text(), nullable=True),
    )

    # -- published results: refits, their forecasts and risk tables ---------------------------
    sa.Table(
        "refits",
        metadata,
        sa.Column("refit_id", sa.String(64), primary_key=True),  # the MLflow run id
        sa.Column("job_run_id", sa.String(32), nullable=True),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(7), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("champion_run_id", sa.String(64), nullable=True),
        sa.Column("horizon", sa.Integer, nullable=False),
        sa.Column("n_draws", sa.Integer, nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("notes", sa.Text(), nullable=True),
    )

    sa.Table(
        "forecasts",
        metadata,
        sa.Column("refit_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(7), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("horizon", sa.Integer, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("mean", sa.Float, nullable=False),
        *(sa.Column(name, sa.Float, nullable=False) for name in QUANTILE_COLUMNS),
        sa.Column("p_escalation", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        # GET /forecasts reads one refit, often a few regions of it: (refit_id, region) finds
        # them without scanning the refit's region × horizon rows (12 vs 120,000 at 10,000
        # regions; bench numbers in the README's Scale section).
        sa.Index("ix_forecasts_refit_id_region", "refit_id", "region"),
    )

    sa.Table(
        "risk",
        metadata,
        sa.Column("refit_id", sa.String(64), nullable=False, index=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(7), nullable=False),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("p_any_3", sa.Float, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),  # the whole risk-table row, JSON
    )

    # -- alerts: states, transitions, deliveries, outbox, data-quality flags -----------------
    def _rule_snapshot_columns() -> list[sa.Column]:
        """What a state and a transition both record: the value, the rule it met, the alert's
        fingerprint and its start/end (fresh Column objects: a Column belongs to one table)."""
        return [
            sa.Column("value", sa.Float),
            sa.Column("threshold", sa.Float),
            sa.Column("resolve_below", sa.Float),
            sa.Column("measure", sa.String(64)),
            sa.Column("fingerprint", sa.String(32), nullable=False),
            sa.Column("starts_at", sa.DateTime(timezone=True)),
            sa.Column("ends_at", sa.DateTime(timezone=True)),
        ]

    sa.Table(
        "alert_states",
        metadata,
        sa.Column("region", sa.String(64), primary_key=True),
        sa.Column("series", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("streak", sa.Integer, nullable=False, default=0),
        *_rule_snapshot_columns(),
        sa.Column("last_refit_id", sa.String(128)),
        sa.Column("note", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )

    sa.Table(
        "alert_transitions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("refit_id", sa.String(128), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        *_rule_snapshot_columns(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text),
        # queued → delivered | failed | partial | not_sent (pending) | no_notifiers
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.UniqueConstraint("region", "series", "refit_id", "to_state", name="uq_alert_transition"),
        # the evaluation reads a refit's queued transitions; the unique key starts with region
        sa.Index("ix_alert_transitions_refit_id", "refit_id"),
        # the outbox looks for transitions still owed to a receiver
        sa.Index("ix_alert_transitions_delivery_status", "delivery_status"),
    )

    sa.Table(
        "alert_outbox",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "transition_id", sa.Integer, sa.ForeignKey("alert_transitions.id"), nullable=False
        ),
        sa.Column("notifier", sa.String(64), nullable=False),
        # the Alertmanager fingerprint + the transition: what a receiver deduplicates on
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        # pending → sending → delivered | pending (retry later) | expired | refused
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rounds", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("transition_id", "notifier", name="uq_alert_outbox"),
        sa.Index("ix_alert_outbox_status", "status"),
    )

    sa.Table(
        "alert_deliveries",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "transition_id", sa.Integer, sa.ForeignKey("alert_transitions.id"), nullable=False
        ),
        sa.Column("notifier", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        # delivered | retry | failed (the final failure, after the last attempt)
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Float),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        # GET /alerts/transitions reads the deliveries of each transition (PostgreSQL does not
        # index a foreign key by itself)
        sa.Index("ix_alert_deliveries_transition_id", "transition_id"),
    )

    sa.Table(
        "alert_data_quality",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("refit_id", sa.String(128), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("series", sa.String(64), nullable=False),
        sa.Column("source", sa.String(128)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("refit_id", "region", "series", "kind", name="uq_alert_quality"),
    )
    return metadata


def upgrade() -> None:
    """Create the tables and indexes this database does not have yet."""
    bind = op.get_bind()
    metadata = _baseline()
    present = set(sa.inspect(bind).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in present:
            known = {index["name"] for index in sa.inspect(bind).get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in known:
                    index.create(bind)
            continue
        table.create(bind)
        if table.name == "observations" and bind.dialect.name == "postgresql":
            # A revision rewrites its row; with 10 % of each page free it usually stays on
            # its page as a HOT update that touches no index (measured at 3 million rows,
            # 10 % revised: the UPDATE took 13.6 s -> 6.0 s, 90 % HOT).
            op.execute(f"ALTER TABLE observations SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    """Drop every table of the baseline (and its data)."""
    bind = op.get_bind()
    for table in reversed(_baseline().sorted_tables):
        table.drop(bind, checkfirst=True)
