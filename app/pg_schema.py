"""The PostgreSQL adapter for the schema's version: which Alembic revision a database is at.

Alembic itself (``app/migrations``) applies the migrations; this reads the result without importing Alembic
or SQLAlchemy (about 0.3 s), since every consumer checks it at start-up (:func:`app.bootstrap.require_schema`).
"""

from __future__ import annotations

from app.pg_connect import connection

__all__ = ["schema_revision"]


def schema_revision(database_url: str) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    with connection(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.alembic_version')")
        row = cur.fetchone()
        if row is None or row[0] is None:
            return None
        cur.execute("SELECT version_num FROM public.alembic_version")
        found = cur.fetchone()
        return str(found[0]) if found else None
