"""Alembic environment: migrates the engine Merkwacht hands over (see storage.db.alembic_config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection or engine passed in `config.attributes`, or on `sqlalchemy.url`.

    A connection handed over is in the caller's transaction (`storage.db.upgrade` holds a lock in it), and the caller
    commits; a connection made here is committed here.
    """
    shared: Connection | None = config.attributes.get("connection")
    if shared is not None:
        _run(shared)
        return
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


run_migrations_online()
