"""``casetrack serve``: the projection consumer in consumer-group mode plus an HTTP endpoint for operators.

``/metrics`` (Prometheus text: technical, domain and process metrics), ``/healthz`` (liveness) and ``/readyz``
(200 when the consumer holds an assignment and the database answers, else 503 with the reason). Rebalances
are queued by the listener and applied between batches (docs/architecture.md, "Rebalances in serve").
SIGTERM/SIGINT stop after the current batch and exit 0; exit 3 when the stored positions do not match the
broker (docs/operators.md, "Broker data loss"); exit 1 on any other failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kafka.errors import NoOffsetForPartitionError, OffsetOutOfRangeError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from app.bootstrap import Endpoints, build_calendar, build_runner
from app.settings import Settings
from consumers.metrics import ConsumerMetrics
from consumers.ports import TP, TransientStoreError
from consumers.source import KafkaSource, OffsetsAheadOfBroker, RetentionGap
from ops.domain_metrics import DomainMetrics
from ops.pg_probe import DatabaseProbe, database_failure

log = logging.getLogger("casetrack.serve")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_POSITIONS = 3  # stored positions and the broker disagree: an operator decision is needed

_POSITION_ERRORS = (OffsetsAheadOfBroker, RetentionGap, OffsetOutOfRangeError, NoOffsetForPartitionError)


class Health:
    """The service's state as the HTTP endpoints report it (written by the main loop, read by HTTP threads)."""

    def __init__(self, database: Callable[[], bool]) -> None:
        self._database = database
        self._lock = threading.Lock()
        self.assigned = 0
        self.failure: str | None = None
        self.stopping = False

    def set_assigned(self, n: int) -> None:
        with self._lock:
            self.assigned = n

    def fail(self, reason: str) -> None:
        with self._lock:
            self.failure = reason

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason) for ``/readyz``."""
        with self._lock:
            failure, assigned, stopping = self.failure, self.assigned, self.stopping
        if failure:
            return False, f"failed: {failure}"
        if stopping:
            return False, "stopping"
        if assigned == 0:
            return (
                False,
                "no partitions assigned (joining the consumer group, or more instances than partitions)",
            )
        if not self._database():
            return False, "database unreachable"
        return True, f"ok: {assigned} partitions assigned"


class OpsHTTPServer(ThreadingHTTPServer):
    """Serves ``/metrics``, ``/healthz`` and ``/readyz`` from a daemon thread."""

    daemon_threads = True

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        self.registry = registry
        self.health = health
        super().__init__((host, port), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="casetrack-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: OpsHTTPServer

    def do_GET(self) -> None:  # the http.server naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._send(200, b"ok\n")
        elif path == "/readyz":
            ready, reason = self.server.health.readiness()
            self._send(200 if ready else 503, (reason + "\n").encode())
        else:
            self._send(404, b"not found: try /metrics, /healthz or /readyz\n")

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)  # scrapes every few seconds: keep them out of the INFO log


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _fmt(partitions: Sequence[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in sorted(partitions))


class Service:
    """The long-running consumer with its HTTP endpoint. ``run()`` in the main thread; ``stop()`` from a
    signal handler or another thread."""

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        registry: CollectorRegistry | None = None,
        domain_metrics: bool = True,
        domain_cache_seconds: float = 10.0,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.registry = registry or CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.runner = build_runner(settings, endpoints, self.registry, group=True)
        source = self.runner.source
        assert isinstance(source, KafkaSource), "serve needs the Kafka source"
        self.source = source
        self.probe = DatabaseProbe(endpoints.database_url)
        self.health = Health(self.probe.ok)
        self.ready_gauge = Gauge(
            "casetrack_ready", "1 when the consumer holds partitions and the database answers (see /readyz).",
            registry=self.registry,
        )  # fmt: skip
        self.ready_gauge.set_function(lambda: 1.0 if self.health.readiness()[0] else 0.0)
        self.domain: DomainMetrics | None = None
        if domain_metrics:
            self.domain = DomainMetrics(
                endpoints.database_url,
                build_calendar(settings),
                topics=settings.topics,
                cache_seconds=domain_cache_seconds,
            )
            self.registry.register(self.domain)
        self.http = OpsHTTPServer(settings.metrics_host, settings.metrics_port, self.registry, self.health)

    def stop(self) -> None:
        """Stop after the current batch (safe to call from a signal handler)."""
        self.health.stopping = True
        self.runner.stop()

    def run(self) -> int:
        """Consume until stopped; returns the process exit code (``EXIT_*``)."""
        self.http.start()
        log.info(
            "serving /metrics, /healthz and /readyz on http://%s:%d/",
            self.settings.metrics_host, self.http.port,
        )  # fmt: skip
        code = EXIT_OK
        try:
            self.runner.subscribe(on_revoked=self._forget)
            while not self.runner.stop_event.is_set():
                self.runner.step()
                self.health.set_assigned(len(self.runner.positions))
        except _POSITION_ERRORS as exc:
            self.health.fail(type(exc).__name__)
            log.error("%s", exc)
            code = EXIT_POSITIONS
        except Exception as exc:
            if isinstance(exc, TransientStoreError) or database_failure(exc):
                code = self._database_failed(exc)
            else:
                self.health.fail(type(exc).__name__)
                log.exception("the consumer failed")
                code = EXIT_ERROR
        finally:
            self.close()
        t = self.runner.totals
        log.info(
            "stopped: %d records in %d batches: %d applied, %d duplicates, %d dead-lettered",
            t.records, t.batches, t.applied, t.duplicates, t.dead_letters,
        )  # fmt: skip
        return code

    def _database_failed(self, exc: Exception) -> int:
        """The open batch rolled back: nothing is lost. Stopping: fine; otherwise let the supervisor restart."""
        if self.runner.stop_event.is_set():
            log.warning("stopped while the database was unavailable: %s", _first_line(exc))
            return EXIT_OK
        self.health.fail("database")
        log.error("the database failed outside a batch: %s", _first_line(exc))
        return EXIT_ERROR

    def _forget(self, partitions: Sequence[TP]) -> None:
        # Revoked partitions belong to another instance now: stop exporting our stale view of them.
        metrics = self.runner.observer
        if not isinstance(metrics, ConsumerMetrics):
            return
        for t, p in partitions:
            for gauge in (
                metrics.position,
                metrics.highwater,
                metrics.lag,
                metrics.lag_seconds,
                metrics.stalled,
            ):
                try:
                    gauge.remove(t, str(p))
                except KeyError:
                    pass  # never exported

    def close(self) -> None:
        self.health.stopping = True
        self.runner.close()
        self.http.close()
        self.probe.close()
        if self.domain is not None:
            self.domain.close()
