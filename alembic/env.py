"""Alembic environment: runs the hand-written migrations over a psycopg 3 connection.

The URL comes from the caller (`abparts migrate` passes it in `config.attributes`);
run as plain `alembic upgrade head`, it comes from the service settings, so the
embedded PostgreSQL is used when DATABASE_URL is unset.
"""

from __future__ import annotations

from logging.config import fileConfig

import psycopg
from sqlalchemy import create_engine, pool

from alembic import context

config = context.config
if config.config_file_name is not None and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    from api.runtime.database import start_embedded
    from api.runtime.settings import Settings

    settings = Settings()
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.pgdata_dir, stop_at_exit=False)


def run_migrations_online() -> None:
    url = database_url()
    # A creator lets SQLAlchemy use any libpq URL psycopg accepts (including socket hosts).
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported: run against a database")
run_migrations_online()
