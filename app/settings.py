"""One typed settings object for the whole of casetrack.

Nothing here reads the environment at import time: :func:`load_settings` is called once, by the composition
root (the CLI), and the resulting object is passed down explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.topics import Topics

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class KafkaSecurity(BaseModel):
    """Client security options, passed straight to kafka-python (``security_protocol`` etc.)."""

    model_config = {"frozen": True}

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True

    @field_validator("sasl_mechanism", mode="before")
    @classmethod
    def _refuse_oauthbearer(cls, value: object) -> object:
        # kafka-python's OAUTHBEARER needs a token-provider object (``sasl_oauth_token_provider``), which no
        # environment variable can carry: refuse it when the settings are read, not at the first connection.
        if isinstance(value, str) and value.strip().upper() == "OAUTHBEARER":
            raise ValueError(
                "OAUTHBEARER is not supported (kafka-python needs a token provider object, not a "
                "username and password); use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        # kafka-python would only fail at the first connection (and for SCRAM 3.0 builds the error without
        # raising it), so an inconsistent combination is refused when the settings are read.
        sasl = self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")
        if sasl and self.sasl_mechanism is None:
            raise ValueError(
                f"protocol {self.protocol} needs sasl_mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            )
        if not sasl and self.sasl_mechanism is not None:
            raise ValueError(
                f"sasl_mechanism {self.sasl_mechanism} needs protocol SASL_PLAINTEXT or SASL_SSL, not {self.protocol}"
            )
        if sasl and (not self.sasl_username or self.sasl_password is None):
            raise ValueError(f"protocol {self.protocol} needs both sasl_username and sasl_password")
        return self

    def client_options(self) -> dict[str, object]:
        """The keyword arguments every kafka-python client gets."""
        opts: dict[str, object] = {"security_protocol": self.protocol}
        if self.sasl_mechanism:
            opts["sasl_mechanism"] = self.sasl_mechanism
            opts["sasl_plain_username"] = self.sasl_username
            opts["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.protocol in ("SSL", "SASL_SSL"):
            opts["ssl_cafile"] = str(self.ssl_cafile) if self.ssl_cafile else None
            opts["ssl_certfile"] = str(self.ssl_certfile) if self.ssl_certfile else None
            opts["ssl_keyfile"] = str(self.ssl_keyfile) if self.ssl_keyfile else None
            opts["ssl_check_hostname"] = self.ssl_check_hostname
        return opts


class ConsumerTuning(BaseModel):
    """Batching and fetch knobs of the projection consumer."""

    model_config = {"frozen": True}

    group_id: str = "casetrack-projections"
    max_batch_records: int = Field(10_000, ge=1, description="records folded and written per transaction")
    poll_timeout_ms: int = Field(200, ge=1)
    max_event_bytes: int = Field(
        256 * 1024, ge=1024, description="larger messages are dead-lettered as oversized"
    )
    fetch_max_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_poll_interval_ms: int = Field(
        10_000, ge=1000, description="also the group rebalance timeout; Tansu holds JoinGroup this long"
    )
    db_retry_max_seconds: float = Field(30.0, gt=0, description="cap of the exponential backoff on DB errors")
    state_cache_size: int = Field(
        50_000,
        ge=0,
        description="folded states kept in memory between batches, shared out among --workers processes"
        " (least recently used out; 0 = none)",
    )


class Settings(BaseSettings):
    """Everything casetrack can be configured with. Environment variables use the ``CASETRACK_`` prefix;
    nested fields use ``__`` (for example ``CASETRACK_KAFKA_SECURITY__PROTOCOL=SASL_SSL``)."""

    model_config = SettingsConfigDict(
        env_prefix="CASETRACK_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    kafka_bootstrap: str | None = Field(
        None, description="host:port list; unset (with database_url) = embedded"
    )
    database_url: str | None = Field(None, description="libpq URL; unset (with kafka_bootstrap) = embedded")

    @field_validator("kafka_bootstrap", "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `CASETRACK_DATABASE_URL=` (set but empty) means "not configured", everywhere alike.
        return None if isinstance(value, str) and not value.strip() else value

    data_dir: Path = Field(Path(".casetrack"), description="embedded stack, reports and local state")
    embedded_broker: Literal["tansu", "kafka"] = Field(
        "tansu",
        description="broker of the embedded stack: tansu (from pip, in memory) or kafka (Apache Kafka fetched "
        "through Maven, needs Java 17; its log stays under data_dir, so `down` and `up` keep every topic)",
    )
    topics: Topics = Topics()
    kafka_security: KafkaSecurity = KafkaSecurity()
    consumer: ConsumerTuning = ConsumerTuning()
    partitions: int = Field(4, ge=1, description="partitions for topics casetrack creates itself")
    replication_factor: int = Field(1, ge=1)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=0, le=65535)
    policy_file: Path | None = Field(None, description="deadline policy TOML; unset = built-in defaults")
    calendar_file: Path | None = Field(None, description="extra official calendar notices (TOML)")
    calendar_strict: bool = Field(
        False, description="refuse to estimate deadlines in years without an official calendar (no due_at)"
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for pseudonyms; unset = a key kept in the database"
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="32-byte key-encryption key (hex or base64) wrapping every stored data key; from a secret store",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)")

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        # A misspelt level must be refused like any other bad setting, not fail later inside logging.
        if isinstance(value, str):
            if value.strip().upper() not in LOG_LEVELS:
                raise ValueError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
        return value

    @property
    def embedded(self) -> bool:
        """True when casetrack must run (or find) its own broker and database."""
        return self.kafka_bootstrap is None and self.database_url is None


def load_settings(**overrides: object) -> Settings:
    """Read the environment once and return the settings (keyword overrides win)."""
    return Settings(**overrides)  # type: ignore[arg-type]
