"""Say clearly why a secured Kafka connection fails: an untrusted certificate or refused SASL credentials.

kafka-python retries such failures for its whole bootstrap timeout and then reports only "Unable to bootstrap",
which reads like a network fault. :func:`check_kafka_security` runs once before a command talks to a broker
with TLS or SASL configured: a TLS handshake with the configured CA, then one SASL login, and raises
:class:`KafkaSecurityError` naming the setting to fix. Secrets never appear in its messages (the broker's own
reason for a refused login names the mechanism, not the password). See docs/operators.md.
"""

from __future__ import annotations

import logging
import socket
import ssl

from app.settings import KafkaSecurity

PREFIX = "CASETRACK_KAFKA_SECURITY__"


class KafkaSecurityError(RuntimeError):
    """The broker answered, but TLS or SASL refused the connection."""


def _address(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    return host.strip("[]"), int(port)


def check_tls(bootstrap: str, security: KafkaSecurity, timeout: float = 5.0) -> None:
    """A TLS handshake with the first bootstrap address, trusting what the settings trust."""
    host, port = _address(bootstrap)
    context = ssl.create_default_context(cafile=str(security.ssl_cafile) if security.ssl_cafile else None)
    context.check_hostname = security.ssl_check_hostname
    if security.ssl_certfile:
        context.load_cert_chain(
            str(security.ssl_certfile), str(security.ssl_keyfile) if security.ssl_keyfile else None
        )
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return
    except ssl.SSLCertVerificationError as exc:
        trusted = f"the CA in {security.ssl_cafile}" if security.ssl_cafile else "the system's CAs"
        raise KafkaSecurityError(
            f"the Kafka broker at {host}:{port} presented a certificate that is not trusted "
            f"({exc.verify_message}); casetrack trusts {trusted}. Set {PREFIX}SSL_CAFILE to the CA that signed "
            f"the broker's certificate"
            + (
                f" (or {PREFIX}SSL_CHECK_HOSTNAME=false if only the host name differs)"
                if exc.verify_code == 62
                else ""
            )
        ) from None
    except ssl.SSLError as exc:
        raise KafkaSecurityError(
            f"TLS with the Kafka broker at {host}:{port} failed ({exc.reason or exc}); is that a TLS listener, "
            f"and does {PREFIX}PROTOCOL ({security.protocol}) match it?"
        ) from None
    except OSError:
        return  # unreachable: the connection check names that; nothing to say about TLS


class _Refusals(logging.Handler):
    """Collects kafka-python's log lines about refused logins (it logs them, then retries)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if self.reason is None and "SaslAuthenticationFailed" in text:
            self.reason = text[text.rfind("SaslAuthenticationFailedError:") :].split(":", 1)[-1].strip(" )")


def check_sasl(bootstrap: str, security: KafkaSecurity, timeout_ms: int = 15_000) -> None:
    """One login with the configured credentials (an admin client's bootstrap). Returns as soon as it works;
    only a failing login waits out ``timeout_ms`` (kafka-python retries it)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    host, port = _address(bootstrap)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError:
        return  # unreachable: the connection check names that; nothing to say about SASL
    refusals = _Refusals()
    kafka_log = logging.getLogger("kafka")
    kafka_log.addHandler(refusals)
    propagate, kafka_log.propagate = kafka_log.propagate, False  # its retry lines would bury the one message
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            bootstrap_timeout_ms=timeout_ms,
            **security.client_options(),
        )
        admin.close()
    except KafkaError:
        # The broker answers (TCP, and TLS above) but no login succeeded: its reason when it sent one, else
        # it closed the connection during the login, which a refused login also does.
        reason = refusals.reason or "it closed the connection during the login"
        raise KafkaSecurityError(
            f"the Kafka broker at {host}:{port} refused the SASL login of user {security.sasl_username!r} "
            f"({security.sasl_mechanism}): {reason}. Check {PREFIX}SASL_USERNAME, {PREFIX}SASL_PASSWORD and "
            f"{PREFIX}SASL_MECHANISM"
        ) from None
    finally:
        kafka_log.removeHandler(refusals)
        kafka_log.propagate = propagate


def check_kafka_security(bootstrap: str, security: KafkaSecurity) -> None:
    """Raise :class:`KafkaSecurityError` if TLS or SASL (as configured) refuses the connection."""
    if security.protocol in ("SSL", "SASL_SSL"):
        check_tls(bootstrap, security)
    if security.protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        check_sasl(bootstrap, security)
