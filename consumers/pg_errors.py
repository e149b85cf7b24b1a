"""psycopg2's errors translated into the Store port's own (:mod:`consumers.ports`), so that the consumer loop
retries a batch without importing the driver. Only the errors a retry on a fresh connection may cure are
translated; any other driver error is a bug and passes unchanged. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from consumers.ports import StoreError, StoreUnavailable, TransientStoreError

#: SQLSTATEs of a server going away (admin or crash shutdown, not accepting connections yet)
_SERVER_GONE = frozenset({"57P01", "57P02", "57P03"})


def store_error(exc: psycopg2.OperationalError | psycopg2.InterfaceError) -> StoreError:
    """The port's error for a driver error that a retry on a fresh connection may cure: the connection broke
    or never opened (no SQLSTATE, class 08, a server shutting down) -> :class:`StoreUnavailable`; a deadlock, a
    serialisation failure or a cancelled statement -> :class:`TransientStoreError`."""
    code = getattr(exc, "pgcode", None)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg2.InterfaceError) or not code or code.startswith("08") or code in _SERVER_GONE:
        return StoreUnavailable(first, exc)
    return TransientStoreError(first, exc)


@contextmanager
def store_errors() -> Iterator[None]:
    """A block whose retryable driver errors leave as the port's (see :func:`store_error`)."""
    try:
        yield
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        raise store_error(exc) from exc
