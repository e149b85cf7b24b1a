"""The read side without a database (docs/architecture.md, "Read queries"): domain metrics and the readiness
probe on a refused connection (now the project's ``DatabaseUnreachable``, not the driver's error) report the
failure (``casetrack_domain_query_success`` 0, probe not ok) instead of raising. The refusal is a real one, to
a loopback port nobody listens on; the queries themselves are covered on PostgreSQL by the integration tests."""

from __future__ import annotations

import socket

import pytest

from ops.domain_metrics import DomainMetrics
from ops.pg_probe import DatabaseProbe
from projections.calendar import WorkCalendar


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://casetrack:x@127.0.0.1:{port}/casetrack"


def test_domain_metrics_on_a_refused_connection_report_failure(refused_url: str) -> None:
    metrics = DomainMetrics(refused_url, WorkCalendar.load(), cache_seconds=0)
    families = {f.name: f for f in metrics.refresh()}
    assert [s.value for s in families["casetrack_domain_query_success"].samples] == [0.0]
    assert families["casetrack_cases_open"].samples == []  # no step ran
    assert [s.value for s in families["casetrack_calendar_coverage_end_timestamp_seconds"].samples]
    metrics.close()


def test_the_probe_on_a_refused_connection_is_not_ok(refused_url: str) -> None:
    probe = DatabaseProbe(refused_url, cache_seconds=0, timeout_seconds=2)
    assert probe.ok() is False
    probe.close()
