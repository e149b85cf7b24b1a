"""psycopg2's refusal of a privilege translated into the personal-data ports' own :class:`~privacy.people.AccessDenied`,
so that the erase and look-up logic and the CLI never import the driver. Used by :mod:`privacy.pg_people` and
:mod:`privacy.pg_keystore`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2.errors

from privacy.people import AccessDenied

__all__ = ["access_denied"]


@contextmanager
def access_denied() -> Iterator[None]:
    """Inside the block, the server's refusal of a privilege (SQLSTATE 42501) becomes :class:`AccessDenied`
    with the server's first line (it names a relation or the role needed, never personal data)."""
    try:
        yield
    except psycopg2.errors.InsufficientPrivilege as exc:
        first = str(exc).strip().splitlines()
        raise AccessDenied(first[0] if first else "permission denied") from exc
