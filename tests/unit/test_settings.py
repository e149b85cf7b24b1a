"""``app.settings``: the environment as operators write it, and the options every Kafka client gets.

Settings are built explicitly from a monkeypatched environment; nothing here opens a file or a socket (the TLS
paths are only passed on, never read).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from app.settings import ConsumerTuning, KafkaSecurity, Settings, load_settings
from events.topics import Topics


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CASETRACK_* variable of the shell running the tests leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("CASETRACK_"):
            monkeypatch.delenv(name)


def env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


# -- environment parsing ----------------------------------------------------------------------------------
def test_defaults_mean_the_embedded_stack() -> None:
    s = Settings()
    assert s.kafka_bootstrap is None and s.database_url is None and s.embedded
    assert s.data_dir == Path(".casetrack")
    assert s.topics == Topics() and s.topics.all() == (
        "gov.case.events",
        "gov.supervision.events",
        "gov.rectification.events",
    )
    assert Topics.dlq("gov.case.events") == "gov.case.events.dlq"
    assert s.kafka_security == KafkaSecurity() and s.kafka_security.protocol == "PLAINTEXT"
    assert s.consumer == ConsumerTuning()
    assert (s.partitions, s.replication_factor, s.metrics_port) == (4, 1, 9108)


def test_top_level_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env(
        monkeypatch,
        CASETRACK_KAFKA_BOOTSTRAP="k1:9092,k2:9092",
        CASETRACK_DATABASE_URL="postgresql://casetrack@db:5432/casetrack",
        CASETRACK_DATA_DIR="/var/lib/casetrack",
        CASETRACK_PARTITIONS="12",
        CASETRACK_REPLICATION_FACTOR="3",
        CASETRACK_METRICS_HOST="0.0.0.0",
        CASETRACK_METRICS_PORT="9200",
        CASETRACK_POLICY_FILE="/etc/casetrack/policy.toml",
        CASETRACK_PSEUDONYM_KEY="00" * 32,
        CASETRACK_LOG_LEVEL="debug",
    )
    s = Settings()
    assert s.kafka_bootstrap == "k1:9092,k2:9092" and not s.embedded
    assert s.database_url == "postgresql://casetrack@db:5432/casetrack"
    assert s.data_dir == Path("/var/lib/casetrack")
    assert (s.partitions, s.replication_factor) == (12, 3)
    assert (s.metrics_host, s.metrics_port) == ("0.0.0.0", 9200)
    assert s.policy_file == Path("/etc/casetrack/policy.toml") and s.calendar_file is None
    assert s.pseudonym_key is not None and s.pseudonym_key.get_secret_value() == "00" * 32
    assert "00" * 32 not in repr(s)  # secrets never show up in logs of the settings object
    assert s.log_level == "debug"


def test_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    env(monkeypatch, casetrack_kafka_security__protocol="SSL", CaseTrack_Partitions="2")
    s = Settings()
    assert s.kafka_security.protocol == "SSL" and s.partitions == 2


def test_nested_variables_use_double_underscores(monkeypatch: pytest.MonkeyPatch) -> None:
    env(
        monkeypatch,
        CASETRACK_TOPICS__CASE="city.case",
        CASETRACK_TOPICS__RECTIFICATION="city.rect",
        CASETRACK_KAFKA_SECURITY__PROTOCOL="SASL_SSL",
        CASETRACK_KAFKA_SECURITY__SASL_MECHANISM="SCRAM-SHA-512",
        CASETRACK_KAFKA_SECURITY__SASL_USERNAME="casetrack",
        CASETRACK_KAFKA_SECURITY__SASL_PASSWORD="s3cret",
        CASETRACK_KAFKA_SECURITY__SSL_CAFILE="/etc/kafka/ca.pem",
        CASETRACK_KAFKA_SECURITY__SSL_CHECK_HOSTNAME="false",
        CASETRACK_CONSUMER__MAX_BATCH_RECORDS="5000",
        CASETRACK_CONSUMER__GROUP_ID="projections-b",
        CASETRACK_CONSUMER__DB_RETRY_MAX_SECONDS="2.5",
    )
    s = Settings()
    # A nested variable sets one field; its siblings keep their defaults.
    assert s.topics == Topics(case="city.case", rectification="city.rect")
    assert s.topics.supervision == "gov.supervision.events"
    sec = s.kafka_security
    assert (sec.protocol, sec.sasl_mechanism, sec.sasl_username) == ("SASL_SSL", "SCRAM-SHA-512", "casetrack")
    assert sec.sasl_password is not None and sec.sasl_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)
    assert sec.ssl_cafile == Path("/etc/kafka/ca.pem") and sec.ssl_check_hostname is False
    c = s.consumer
    assert (c.max_batch_records, c.group_id, c.db_retry_max_seconds) == (5000, "projections-b", 2.5)
    assert c.poll_timeout_ms == ConsumerTuning().poll_timeout_ms


def test_keyword_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``casetrack --data-dir`` relies on."""
    env(monkeypatch, CASETRACK_DATA_DIR="/from/env", CASETRACK_PARTITIONS="7")
    s = load_settings(data_dir=Path("/from/flag"))
    assert s.data_dir == Path("/from/flag") and s.partitions == 7


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.partitions = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.kafka_security.protocol = "SSL"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("CASETRACK_PARTITIONS", "0", "partitions"),
        ("CASETRACK_PARTITIONS", "many", "partitions"),
        ("CASETRACK_METRICS_PORT", "70000", "metrics_port"),
        ("CASETRACK_CONSUMER__MAX_BATCH_RECORDS", "0", "consumer.max_batch_records"),
        ("CASETRACK_CONSUMER__MAX_EVENT_BYTES", "100", "consumer.max_event_bytes"),
        ("CASETRACK_KAFKA_SECURITY__PROTOCOL", "TLS", "kafka_security.protocol"),
        ("CASETRACK_KAFKA_SECURITY__SASL_MECHANISM", "GSSAPI", "kafka_security.sasl_mechanism"),
        ("CASETRACK_KAFKA_SECURITY__SSL_CHECK_HOSTNAME", "perhaps", "kafka_security.ssl_check_hostname"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    env(monkeypatch, **{name: value})
    with pytest.raises(ValidationError) as info:
        Settings()
    (error,) = info.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == field


# -- client_options() ----------------------------------------------------------------------------------
def test_plaintext_passes_the_protocol_only() -> None:
    assert KafkaSecurity().client_options() == {"security_protocol": "PLAINTEXT"}


def test_ssl_passes_the_tls_files(monkeypatch: pytest.MonkeyPatch) -> None:
    env(
        monkeypatch,
        CASETRACK_KAFKA_SECURITY__PROTOCOL="SSL",
        CASETRACK_KAFKA_SECURITY__SSL_CAFILE="/etc/kafka/ca.pem",
        CASETRACK_KAFKA_SECURITY__SSL_CERTFILE="/etc/kafka/client.pem",
        CASETRACK_KAFKA_SECURITY__SSL_KEYFILE="/etc/kafka/client.key",
    )
    assert Settings().kafka_security.client_options() == {
        "security_protocol": "SSL",
        "ssl_cafile": "/etc/kafka/ca.pem",
        "ssl_certfile": "/etc/kafka/client.pem",
        "ssl_keyfile": "/etc/kafka/client.key",
        "ssl_check_hostname": True,
    }


def test_ssl_without_files_uses_the_system_trust_store() -> None:
    """No CA file: kafka-python falls back to the default trust store, so the keys are present but None."""
    assert KafkaSecurity(protocol="SSL", ssl_check_hostname=False).client_options() == {
        "security_protocol": "SSL",
        "ssl_cafile": None,
        "ssl_certfile": None,
        "ssl_keyfile": None,
        "ssl_check_hostname": False,
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_passes_the_credentials(mechanism: str) -> None:
    sec = KafkaSecurity.model_validate(
        {
            "protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": mechanism,
            "sasl_username": "casetrack",
            "sasl_password": "s3cret",
            "ssl_cafile": "/ignored/without/tls.pem",
        }
    )
    # No ssl_* keys: TLS files mean nothing on a plaintext connection.
    assert sec.client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "casetrack",
        "sasl_plain_password": "s3cret",
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_passes_credentials_and_tls(monkeypatch: pytest.MonkeyPatch, mechanism: str) -> None:
    env(
        monkeypatch,
        CASETRACK_KAFKA_SECURITY__PROTOCOL="SASL_SSL",
        CASETRACK_KAFKA_SECURITY__SASL_MECHANISM=mechanism,
        CASETRACK_KAFKA_SECURITY__SASL_USERNAME="casetrack",
        CASETRACK_KAFKA_SECURITY__SASL_PASSWORD="s3cret",
        CASETRACK_KAFKA_SECURITY__SSL_CAFILE="/etc/kafka/ca.pem",
    )
    opts = Settings().kafka_security.client_options()
    assert opts == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "casetrack",
        "sasl_plain_password": "s3cret",  # the plain string kafka-python wants, not the SecretStr
        "ssl_cafile": "/etc/kafka/ca.pem",
        "ssl_certfile": None,
        "ssl_keyfile": None,
        "ssl_check_hostname": True,
    }
    assert all(not isinstance(v, SecretStr) for v in opts.values())


# -- what is refused ------------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["OAUTHBEARER", "oauthbearer"])
def test_oauthbearer_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch, spelling: str) -> None:
    """kafka-python's OAUTHBEARER needs ``sasl_oauth_token_provider`` (an object), which settings cannot carry,
    and ``client_options()`` would pass a username and password instead: it could never connect."""
    env(
        monkeypatch,
        CASETRACK_KAFKA_SECURITY__PROTOCOL="SASL_SSL",
        CASETRACK_KAFKA_SECURITY__SASL_MECHANISM=spelling,
    )
    with pytest.raises(ValidationError) as info:
        Settings()
    (error,) = info.value.errors()
    assert error["loc"] == ("kafka_security", "sasl_mechanism")
    assert "OAUTHBEARER is not supported" in error["msg"] and "token provider" in error["msg"]
    assert "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" in error["msg"]
    with pytest.raises(ValidationError, match="OAUTHBEARER is not supported"):
        KafkaSecurity.model_validate({"protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"})


def test_mechanisms_are_case_sensitive() -> None:
    """kafka-python compares the mechanism name as given; a lower-case name is refused here, not at connect."""
    with pytest.raises(ValidationError):
        KafkaSecurity.model_validate({"protocol": "SASL_SSL", "sasl_mechanism": "plain"})


@pytest.mark.parametrize(
    "security",
    [
        pytest.param(
            {"protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_password": "x"},
            id="sasl-without-username",
        ),
        pytest.param(
            {"protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": "u"},
            id="sasl-without-password",
        ),
        pytest.param(
            {"protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password": "x"},
            id="sasl-protocol-without-mechanism",
        ),
        pytest.param(
            {"protocol": "PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "x"},
            id="mechanism-without-sasl-protocol",
        ),
    ],
)
def test_inconsistent_security_settings_are_refused(security: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        KafkaSecurity.model_validate(security)


def test_empty_server_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CASETRACK_DATABASE_URL=`` (set, but empty) is the same as unset: the embedded stack."""
    monkeypatch.setenv("CASETRACK_KAFKA_BOOTSTRAP", "")
    monkeypatch.setenv("CASETRACK_DATABASE_URL", " ")
    s = Settings()
    assert s.kafka_bootstrap is None and s.database_url is None and s.embedded
