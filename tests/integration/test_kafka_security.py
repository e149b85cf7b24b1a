"""casetrack over TLS with SASL/SCRAM on Apache Kafka: a SASL_SSL listener whose certificate and SCRAM user are
made here. casetrack connects with the documented settings (``CASETRACK_KAFKA_SECURITY__*``, docs/operators.md);
wrong credentials and an untrusted certificate give a clear error and a non-zero exit, with no secret in the
output. Tansu has no TLS or SASL, so this runs in the Apache Kafka session only."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.apache_kafka import KafkaCluster, SecureListener, start_cluster
from app.settings import Settings
from tests.conftest import TEST_BROKER_OVERRIDES, random_topics
from tests.factories import TZ, envelope
from tests.faults.kafka_support import APACHE_KAFKA_ONLY
from tests.integration.helpers import query
from tests.integration.kafka_tls import Pki, make_pki
from tests.integration.ops_support import cli_env, run_env

pytestmark = APACHE_KAFKA_ONLY
USER, PASSWORD = "casetrack-app", "Scram-Pa55-only-in-this-test"
T0 = dt.datetime(2026, 10, 12, 8, 30, tzinfo=TZ)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[KafkaCluster]:
    """One Apache Kafka node with a SASL_SSL listener (SCRAM-SHA-256) beside its plaintext one."""
    listener = SecureListener(pki.server_pem, {USER: PASSWORD}, "SCRAM-SHA-256")
    cluster = start_cluster(tmp_path_factory.mktemp("kafka-tls"), 1, listener, TEST_BROKER_OVERRIDES)
    yield cluster
    cluster.stop()


def _env(secured: KafkaCluster, database_url: str, tmp_path: Path, **security: str) -> dict[str, str]:
    """The documented variables for a SASL_SSL cluster (docs/operators.md), as an operator sets them."""
    s = Settings(
        kafka_bootstrap=secured.secure_bootstrap,
        database_url=database_url,
        data_dir=tmp_path,
        topics=random_topics(),
    )
    env = cli_env(s, CASETRACK_PSEUDONYM_KEY="5e" * 32)
    env.update(
        {f"CASETRACK_KAFKA_SECURITY__{k.upper()}": v for k, v in security.items()}
        | {"CASETRACK_KAFKA_SECURITY__PROTOCOL": "SASL_SSL"}
    )
    return env


def _good(pki: Pki) -> dict[str, str]:
    return {"sasl_mechanism": "SCRAM-SHA-256", "sasl_username": USER, "sasl_password": PASSWORD,
            "ssl_cafile": str(pki.ca_pem)}  # fmt: skip


def test_migrate_produce_consume_over_tls_with_scram(
    secured: KafkaCluster, pki: Pki, database_url: str, tmp_path: Path
) -> None:
    env = _env(secured, database_url, tmp_path, **_good(pki))
    events = [
        envelope("sec-1", "case.received", "C-SEC-1", T0,
                 {"channel": "hotline_12345", "category": "市政设施", "summary": "路灯不亮", "region": "长安区"}),
        envelope("sec-2", "case.assigned", "C-SEC-1", T0 + dt.timedelta(minutes=5), {"department": "市城管局"}),
    ]  # fmt: skip
    file = tmp_path / "events.jsonl"
    file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    outputs = []
    for args in (["migrate"], ["produce", str(file)], ["consume", "--until-caught-up"]):
        done = run_env(env, args)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, f"casetrack {' '.join(args)}:\n{outputs[-1]}"
    assert query(database_url, "SELECT case_id, status FROM public.case_status") == [("C-SEC-1", "assigned")]
    assert not any(PASSWORD in text for text in outputs)


def test_wrong_password_is_a_clear_error_without_the_secret(
    secured: KafkaCluster, pki: Pki, database_url: str, tmp_path: Path
) -> None:
    wrong = "Not-The-Pa55word-" + "x" * 8
    env = _env(secured, database_url, tmp_path, **(_good(pki) | {"sasl_password": wrong}))
    done = run_env(env, ["migrate"])
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert f"refused the SASL login of user {USER!r} (SCRAM-SHA-256)" in text, text
    assert "CASETRACK_KAFKA_SECURITY__SASL_PASSWORD" in text and "Traceback" not in text, text
    assert wrong not in text and PASSWORD not in text


def test_an_untrusted_certificate_is_a_clear_error(
    secured: KafkaCluster, database_url: str, tmp_path: Path
) -> None:
    other = make_pki(
        tmp_path / "other", "some other CA"
    )  # casetrack trusts a CA that did not sign the broker's
    env = _env(secured, database_url, tmp_path, **(_good(other) | {"ssl_cafile": str(other.ca_pem)}))
    done = run_env(env, ["migrate"])
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert "presented a certificate that is not trusted" in text and "SSL_CAFILE" in text, text
    assert "Traceback" not in text and PASSWORD not in text, text
