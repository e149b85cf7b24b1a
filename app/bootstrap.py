"""The composition root: the only place that turns settings into connected parts.

Handlers and loops receive their dependencies from here; nothing else reads settings or opens connections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from prometheus_client import CollectorRegistry

from app.embedded import EmbeddedStack
from app.errors import probe_kafka
from app.pg_connect import connection
from app.pg_kpi_settings import sync_kpi_settings
from app.pg_schema import schema_revision as schema_revision  # re-exported: callers import it from here
from app.settings import Settings
from consumers.calendar_refresh import refresh_estimated_deadlines
from consumers.dlq import DeadLetterSink, KafkaDeadLetterSink, dlq_topic
from consumers.engine import FoldEngine
from consumers.metrics import ConsumerMetrics
from consumers.pg_store import PgStore
from consumers.runner import EventTransform, ProjectionRunner, RunnerConfig
from consumers.source import KafkaSource, SourceConfig
from events.catalog import Aggregate
from events.codec import Codec
from privacy.keystore import KeyWrapper, decode_key_setting
from privacy.pii import Pseudonymizer, Sealer
from projections.base import Projection
from projections.calendar import WorkCalendar
from projections.case_deadlines import CaseDeadlines
from projections.case_status import CaseStatusProjection
from projections.policy import DeadlinePolicy, load_policy
from projections.rectification import RectificationProjection
from projections.supervision import SupervisionProjection

log = logging.getLogger("casetrack")
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Endpoints:
    """Where the broker and the database are."""

    kafka_bootstrap: str
    database_url: str
    embedded: bool


def resolve_endpoints(
    settings: Settings, start: bool = True, say: Callable[[str], None] = print
) -> Endpoints:
    """The configured servers, or the embedded stack (started in the background when ``start``)."""
    if settings.kafka_bootstrap and settings.database_url:
        # Fail in seconds, naming what was tried, rather than after kafka-python's 30 s of retries.
        probe_kafka(settings.kafka_bootstrap)
        if settings.kafka_security.protocol != "PLAINTEXT":
            from app.kafka_security import KafkaSecurityError, check_kafka_security

            try:  # kafka-python would retry a refused TLS or SASL login for 30 s, then say "Unable to bootstrap"
                check_kafka_security(settings.kafka_bootstrap, settings.kafka_security)
            except KafkaSecurityError as exc:
                raise SystemExit(f"error: {exc}") from None
        return Endpoints(settings.kafka_bootstrap, settings.database_url, False)
    if settings.kafka_bootstrap or settings.database_url:
        missing = "CASETRACK_DATABASE_URL" if settings.kafka_bootstrap else "CASETRACK_KAFKA_BOOTSTRAP"
        raise SystemExit(f"only one of the two servers is configured: set {missing} as well, or unset both")
    stack = EmbeddedStack(settings.data_dir, settings.embedded_broker)
    info = stack.running()
    if info is None:
        if not start:
            raise SystemExit("the embedded stack is not running: start it with `casetrack up`")
        info, _ = stack.up()
        say(f"started the embedded stack (Kafka {info.kafka_bootstrap}); stop it with `casetrack down`")
    return Endpoints(info.kafka_bootstrap, info.database_url, True)


def topic_families(settings: Settings) -> dict[str, Aggregate]:
    t = settings.topics
    return {t.case: "case", t.supervision: "supervision", t.rectification: "rectification"}


def migrate(database_url: str) -> None:
    """Apply every Alembic migration (``alembic upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dsn"] = database_url
    command.upgrade(cfg, "head")


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


#: ``head_revision()`` as a constant: importing Alembic (and SQLAlchemy) costs about 0.3 s, on every consumer
#: start. ``tests/unit/test_migrations_head.py`` keeps it equal to what Alembic says.
SCHEMA_HEAD = "0015"


def require_schema(database_url: str) -> None:
    """Refuse to run on a database that is not migrated to head, with the fix in the message."""
    current, head = schema_revision(database_url), SCHEMA_HEAD
    if current != head:
        raise SystemExit(
            f"the database schema is at {current or 'nothing'}, casetrack needs {head}: run `casetrack migrate`"
        )


def ensure_topics(settings: Settings, bootstrap: str) -> list[str]:
    """Create the event topics and their dead-letter topics where missing; returns those created."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap.split(","), **settings.kafka_security.client_options()
    )
    try:
        existing = set(admin.list_topics())
        wanted = [*settings.topics.all(), *(dlq_topic(t) for t in settings.topics.all())]
        new = [t for t in wanted if t not in existing]
        if new:
            try:
                admin.create_topics(
                    [NewTopic(t, settings.partitions, settings.replication_factor) for t in new]
                )
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process
        return new
    finally:
        admin.close()


def make_producer(settings: Settings, bootstrap: str, **options: Any) -> KafkaProducer:
    """An idempotent ``acks=all`` producer with the configured security options."""
    return KafkaProducer(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=4 * 1024 * 1024,
        **settings.kafka_security.client_options(),
        **options,
    )


def build_calendar(settings: Settings) -> WorkCalendar:
    """The official working-day calendar plus the operator's notice file, if any."""
    return WorkCalendar.load(settings.calendar_file, strict=settings.calendar_strict)


def build_policy(settings: Settings) -> DeadlinePolicy:
    """The deadline policy file (built-in defaults unless ``policy_file`` is set)."""
    return load_policy(settings.policy_file)


def build_projections(settings: Settings) -> dict[str, Projection[Any]]:
    """Every projection family, wired with the deadline policy and calendar."""
    deadlines = CaseDeadlines(build_policy(settings), build_calendar(settings))
    # Orders and items have plain date deadlines (end of day, Asia/Shanghai): no policy or calendar needed.
    return {
        "case": CaseStatusProjection(deadlines),
        "supervision": SupervisionProjection(),
        "rectification": RectificationProjection(),
    }


def build_key_wrapper(settings: Settings) -> KeyWrapper | None:
    """The key-encryption key that wraps every stored data key, if one is configured (32 bytes, hex or base64,
    from a secret store: ``CASETRACK_KEY_ENCRYPTION_KEY``). See docs/personal-data.md."""
    kek = getattr(settings, "key_encryption_key", None)  # SecretStr | None (an optional setting)
    if kek is None:
        return None
    try:
        return KeyWrapper(decode_key_setting(kek.get_secret_value(), what="CASETRACK_KEY_ENCRYPTION_KEY"))
    except ValueError as exc:
        raise SystemExit(f"invalid CASETRACK_KEY_ENCRYPTION_KEY: {exc}") from None


def build_sealer(settings: Settings, endpoints: Endpoints) -> Sealer:
    """Seals and unseals petitioners with keys in PostgreSQL. The pseudonym key is ``CASETRACK_PSEUDONYM_KEY``
    when set (production: from a secret store), else one generated once and kept in ``casetrack.secrets``."""
    from privacy.pg_keystore import KeyStoreError, PgKeyStore, load_pseudonym_key

    wrapper = build_key_wrapper(settings)
    configured = None
    if settings.pseudonym_key is not None:
        try:
            configured = decode_key_setting(
                settings.pseudonym_key.get_secret_value(), what="CASETRACK_PSEUDONYM_KEY"
            )
        except ValueError as exc:
            raise SystemExit(f"invalid CASETRACK_PSEUDONYM_KEY: {exc}") from None
    try:
        with connection(endpoints.database_url, application_name="casetrack-keys") as conn:
            key = load_pseudonym_key(conn, configured, wrapper)
    except KeyStoreError as exc:
        raise SystemExit(str(exc)) from None
    return Sealer(Pseudonymizer(key), PgKeyStore(endpoints.database_url, wrapper))


def build_transform(settings: Settings, endpoints: Endpoints) -> EventTransform | None:
    """What rewrites events before they are stored: personal-data sealing, so that neither the event store nor
    a projection holds a plaintext petitioner. Keys are created on the batch's own transaction."""
    from privacy.pg_keystore import keystore_for_tx
    from privacy.transform import PersonalDataTransform

    return PersonalDataTransform(
        build_sealer(settings, endpoints), keystore_for_tx(build_key_wrapper(settings))
    )


def build_codec(settings: Settings) -> Codec:
    return Codec(topic_families(settings), settings.consumer.max_event_bytes)


def build_runner(
    settings: Settings,
    endpoints: Endpoints,
    registry: CollectorRegistry | None = None,
    *,
    group: bool = False,
    follow_live: bool = True,
    generations: dict[str, int] | None = None,
    dead_letters: DeadLetterSink | None = None,
    topics: dict[str, Aggregate] | None = None,
) -> ProjectionRunner:
    """A projection consumer wired to Kafka, PostgreSQL, the DLQ and (optionally) metrics."""
    require_schema(endpoints.database_url)
    sync_kpi_settings(endpoints.database_url, build_policy(settings))  # idempotent; writes only on change
    c = settings.consumer
    codec = build_codec(settings)
    source = KafkaSource(
        SourceConfig(
            bootstrap=endpoints.kafka_bootstrap,
            client_options=settings.kafka_security.client_options(),
            group_id=c.group_id if group else None,
            max_poll_interval_ms=c.max_poll_interval_ms,
            fetch_max_bytes=c.fetch_max_bytes,
        )
    )
    if dead_letters is None:
        dead_letters = KafkaDeadLetterSink(make_producer(settings, endpoints.kafka_bootstrap))
    projections = build_projections(settings)
    if follow_live and "case" in projections:  # a calendar year added since: re-derive the estimates
        refresh_estimated_deadlines(endpoints.database_url, projections["case"])
    topics = topics or topic_families(settings)
    topics = {t: f for t, f in topics.items() if f in projections}
    return ProjectionRunner(
        RunnerConfig(
            topics=topics,
            max_batch_records=c.max_batch_records,
            poll_timeout_ms=c.poll_timeout_ms,
            db_retry_max_seconds=c.db_retry_max_seconds,
            follow_live=follow_live,
            generations=generations,
        ),
        source,
        lambda: PgStore(endpoints.database_url, codec),
        FoldEngine(projections, cache_size=c.state_cache_size, expect_stored=not follow_live),
        codec,
        dead_letters,
        ConsumerMetrics(registry) if registry is not None else None,
        build_transform(settings, endpoints),
    )
