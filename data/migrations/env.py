"""Alembic's environment: migrations run on the connection :mod:`data.migrate` hands in.

There is no ``alembic.ini``: ``riskcast db upgrade`` builds the configuration in code
(:func:`data.migrate.alembic_config`), so the database URL comes from the same settings as
everything else. ``alembic revision --autogenerate`` works through the same function.
"""

from __future__ import annotations

from alembic import context

from data.tables import metadata


def _ours(name: str | None, type_: str, _parent: dict) -> bool:
    """Only riskcast's tables: APScheduler's job table (and MLflow's, when they share a
    database) belong to those libraries."""
    return type_ != "table" or name in metadata.tables


def _run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=_ours,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
