"""Alembic environment. The URL is any libpq connection string, given by ``casetrack migrate``
(or ``CASETRACK_DATABASE_URL`` when alembic is run by hand)."""

from __future__ import annotations

import os

import psycopg2
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
dsn = (
    config.attributes.get("dsn") or config.get_main_option("dsn") or os.environ.get("CASETRACK_DATABASE_URL")
)
if not dsn:
    raise SystemExit("no database: pass a dsn in the Alembic config or set CASETRACK_DATABASE_URL")

# psycopg2 understands both URL and key=value DSNs; SQLAlchemy only URLs. So let psycopg2 connect.
engine = create_engine(
    "postgresql+psycopg2://", creator=lambda: psycopg2.connect(dsn), poolclass=pool.NullPool
)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, version_table_schema="public")
    with context.begin_transaction():
        context.run_migrations()
