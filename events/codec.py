"""The one codec: Kafka records <-> catalog events.

Decoding accepts CloudEvents 1.0 in structured mode (the whole envelope is the value) and in binary mode
(``ce_*`` headers, ``data`` as the value), validates strictly, and upcasts older schema versions. Every
failure is a :class:`DecodeError` with a stable ``reason`` code, the dead-letter header value. Error details
never quote the offending input, because the input may carry personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal, NamedTuple, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import from_json

from events.catalog import EVENT_TYPES, Aggregate, Event, aggregate_of
from events.decode_errors import REASONS, DecodeError
from events.decode_errors import describe as _describe
from events.decode_errors import without_tracebacks as _without_tracebacks
from events.upcasters import upcast

STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"


class Record(NamedTuple):
    """A Kafka record as the codec sees it (independent of the client library). A named tuple, not a frozen
    dataclass: one is built per record, and a tuple is several times cheaper to build."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None


def _typed_models() -> dict[str, type[Event]]:
    # One Event subclass per type, with ``data`` typed as that type's payload, so one pydantic call validates
    # the envelope and the payload together.
    models: dict[str, type[Event]] = {}
    for event_type, (payload, _version) in EVENT_TYPES.items():
        name = "".join(part.title() for part in event_type.replace(".", "_").split("_")) + "Event"
        type_literal: Any = Literal[event_type]  # a runtime-built Literal: opaque to the type checker
        models[event_type] = create_model(name, __base__=Event, type=(type_literal, ...), data=(payload, ...))
    return models


_MODELS: Final = _typed_models()

# Fast path: one Rust-side pass (JSON parse + validation) over a union discriminated by ``type``. Anything it
# cannot take (unknown type, an older schemaversion, any error) goes through the precise slow path.
_UNION_TYPE: Any = Annotated[Union[tuple(_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
_UNION: Final[TypeAdapter[Event]] = TypeAdapter(_UNION_TYPE)
_VALIDATE_JSON: Final = _UNION.validator.validate_json  # the validator itself: no wrapper frame per record
_NEWEST: Final = {t: v for t, (_p, v) in EVENT_TYPES.items()}


class Codec:
    """Decodes records into events and encodes events into records.

    ``topic_aggregates`` maps each source topic to the aggregate it carries, so a supervision event published
    on the case topic is rejected rather than silently folded into the wrong projection.
    """

    def __init__(
        self, topic_aggregates: dict[str, Aggregate] | None = None, max_event_bytes: int = 256 * 1024
    ):
        self.topic_aggregates = dict(topic_aggregates or {})
        self.max_event_bytes = max_event_bytes
        # (topic, event type) -> the routing check passes; True for topics without an expected aggregate.
        self._routed = _RoutedTypes(self.topic_aggregates)

    # -- decoding -------------------------------------------------------------------------------------
    def decode(self, record: Record) -> Event:
        """Decode one record, or raise :class:`DecodeError`."""
        value = record.value
        size = len(value) if value else 0
        binary = False
        for k, v in record.headers:
            size += len(k) + (len(v) if v else 0)
            binary = binary or k == "ce_specversion"
        if size > self.max_event_bytes:
            raise DecodeError("oversized", f"{size} bytes exceeds the limit of {self.max_event_bytes}")
        if binary:
            headers: dict[str, bytes | None] = dict(record.headers)
            event = _fast_binary(headers, value) or self.from_envelope(self._binary_envelope(headers, value))
        else:
            event = self._fast(value) or self._structured(value)
        return self._check_routing(record, event)

    def decode_batch(self, records: Sequence[Record]) -> list[Event | DecodeError]:
        """Decode a poll batch: for each record, what :meth:`decode` returns or raises. The common case (a
        structured-mode record of the newest version, routed right) is inlined; any other record takes the
        per-record path, so its dead-letter reason and detail are exactly :meth:`decode`'s."""
        out: list[Event | DecodeError] = []
        append = out.append
        limit, newest, routed = self.max_event_bytes, _NEWEST, self._routed
        for r in records:
            value = r.value
            size = len(value) if value else 0
            for k, v in r.headers:
                if k == "ce_specversion":
                    size = -1  # binary mode: the per-record path
                    break
                size += len(k) + (len(v) if v else 0)
            event, tried = None, False
            if value and 0 <= size <= limit and b"\\u0000" not in value:
                tried = True
                try:
                    event = _VALIDATE_JSON(value, strict=True)
                    if event.schemaversion != newest[event.type]:
                        event = None  # an older version: upcast on the precise path
                except (ValidationError, ValueError):
                    pass
            if (
                event is not None
                and (r.key is None or r.key == event.subject.encode("utf-8"))
                and routed[(r.topic, event.type)]
            ):
                append(event)
                continue
            try:  # decode()'s remaining steps, without repeating the validation just tried
                append(self._check_routing(r, event or self._structured(value)) if tried else self.decode(r))
            except DecodeError as exc:
                append(_without_tracebacks(exc))
        return out

    def _fast(self, value: bytes | None) -> Event | None:
        if not value or b"\\u0000" in value:
            return None
        try:
            event: Event = _UNION.validate_json(value, strict=True)
        except (ValidationError, ValueError):
            return None
        return event if event.schemaversion == _NEWEST[event.type] else None

    def _structured(self, value: bytes | None) -> Event:
        loaded = self._json(value)
        if not isinstance(loaded, dict):
            raise DecodeError("not_an_object", "a structured-mode CloudEvent must be a JSON object")
        return self.from_envelope(loaded)

    def _check_routing(self, record: Record, event: Event) -> Event:
        if record.key is not None and record.key != event.subject.encode("utf-8"):
            try:
                record.key.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("invalid_utf8", "the Kafka key is not UTF-8") from None
            raise DecodeError("key_mismatch", "the Kafka key differs from the event subject")
        expected = self.topic_aggregates.get(record.topic)
        if expected is not None and event.aggregate != expected:
            raise DecodeError("wrong_topic", f"a {event.aggregate} event on the {expected} topic")
        return event

    def from_envelope(self, raw: dict[str, Any], *, strict: bool = True) -> Event:
        """Validate (and upcast) a structured-mode envelope that is already parsed JSON.

        Validation is strict, as on the fast path: ``schemaversion`` must be an integer and ``time`` an RFC
        3339 string (a ``datetime`` from Python callers is taken as its ISO form). ``strict=False`` is for rows
        of casetrack's own event store, validated on the way in and read back as database types.
        """
        event_type = raw.get("type")
        if not isinstance(event_type, str):
            raise DecodeError("schema_violation", "type: Field required (a string)")
        entry = EVENT_TYPES.get(event_type)
        if entry is None:
            raise DecodeError("unknown_type", "the event type is not in the catalog")
        _payload, newest = entry
        version = raw.get("schemaversion", 1)
        if isinstance(version, str) and version.isascii() and version.isdigit():  # binary mode: all strings
            version = int(version)
            raw = {**raw, "schemaversion": version}
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DecodeError("schema_violation", "schemaversion: must be a positive integer")
        if version > newest:
            raise DecodeError("unsupported_version", f"{event_type} v{version} is newer than v{newest}")
        if version < newest and isinstance(raw.get("data"), dict):
            try:
                raw = {
                    **raw,
                    "data": upcast(event_type, version, newest, raw["data"]),
                    "schemaversion": newest,
                }
            except LookupError as exc:
                raise DecodeError("unsupported_version", str(exc)) from None
        try:
            if not strict:
                return _MODELS[event_type].model_validate(raw)
            # Strict validation of JSON input is what the wire format means; pydantic's strict mode takes
            # RFC 3339 strings for datetimes only from JSON, hence the round trip (off the hot path). Not
            # pydantic_core.to_json: its depth limit is below what json.loads accepts, so deep hostile input
            # would raise instead of becoming a dead letter.
            text = json.dumps(raw, default=_iso, ensure_ascii=False)
            return _MODELS[event_type].model_validate_json(text, strict=True)
        except ValidationError as exc:
            raise DecodeError("schema_violation", _describe(exc)) from None

    def from_store_json(self, text: str) -> Event:
        """An event-store row as one JSON envelope (built by the store's query): one Rust-side validation,
        lax like ``from_envelope(strict=False)``; a row of an older version takes that path (upcasting)."""
        try:
            event: Event = _VALIDATE_JSON(text)
            if event.schemaversion == _NEWEST[event.type]:
                return event
        except (ValidationError, ValueError):
            pass
        return self.from_envelope(json.loads(text), strict=False)

    def _json(self, value: bytes | None) -> Any:
        if not value:
            raise DecodeError("empty_value", "the message has no value")
        # PostgreSQL text and jsonb refuse NUL; a raw NUL byte is already invalid JSON (json.loads is strict).
        if b"\\u0000" in value:
            raise DecodeError("nul_character", "the JSON contains a NUL character (\\u0000)")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("invalid_utf8", "the value is not valid UTF-8") from None
        try:
            loaded = json.loads(text)
            # json accepts lone UTF-16 surrogates (\\ud800), which no UTF-8 database column can hold.
            json.dumps(loaded, ensure_ascii=False).encode("utf-8")
            return loaded
        except UnicodeEncodeError:
            raise DecodeError("invalid_utf8", "the JSON contains a lone surrogate escape") from None
        except RecursionError:
            raise DecodeError("invalid_json", "the JSON is nested too deeply") from None
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not JSON"
            raise DecodeError("invalid_json", f"{msg} (at character {getattr(exc, 'pos', '?')})") from None

    def _binary_envelope(self, headers: dict[str, bytes | None], value: bytes | None) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for name, hv in headers.items():
            if not name.startswith("ce_") or hv is None:
                continue
            if b"\x00" in hv:
                raise DecodeError("nul_character", f"header {name} contains a NUL byte")
            try:
                raw[name[3:]] = hv.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("invalid_utf8", f"header {name} is not UTF-8") from None
        raw["data"] = self._json(value)
        return raw

    # -- encoding -------------------------------------------------------------------------------------
    @staticmethod
    def encode(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Structured mode: (key, value, headers) for the producer."""
        value = json.dumps(event.wire(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return event.subject.encode("utf-8"), value, [("content-type", STRUCTURED_CONTENT_TYPE.encode())]

    @staticmethod
    def encode_binary(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Binary mode: attributes as ``ce_*`` headers and the payload alone as the value."""
        wire = event.wire()
        data = wire.pop("data")
        headers = [(f"ce_{k}", str(v).encode("utf-8")) for k, v in wire.items()]
        headers.append(("content-type", b"application/json"))
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return event.subject.encode("utf-8"), value, headers


_quote: Final = json.encoder.encode_basestring  # json.dumps(str, ensure_ascii=False) without its wrappers


def _fast_binary(headers: dict[str, bytes | None], value: bytes | None) -> Event | None:
    """A binary-mode record's event in one Rust-side pass: the ``ce_*`` headers and the value joined into the
    structured envelope :meth:`Codec.from_envelope` would validate. None (the precise path decides) for anything
    unusual: a NUL, non-UTF-8, a non-numeric or older schemaversion, no value, any validation error. The value
    must parse alone as one JSON object first, so it cannot close the envelope and add attributes of its own."""
    if not value or b"\\u0000" in value:
        return None
    try:
        if type(from_json(value)) is not dict:
            return None
    except ValueError:
        return None
    parts = []
    for name, hv in headers.items():
        if not name.startswith("ce_") or hv is None or name == "ce_data":
            continue
        if b"\x00" in hv:
            return None
        try:
            text = hv.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if name == "ce_schemaversion":
            if not (text.isascii() and text.isdigit()) or len(text) > 9:
                return None
            parts.append(f'"schemaversion":{int(text)}')
        else:
            parts.append(f"{_quote(name[3:])}:{_quote(text)}")
    try:
        envelope = ("{" + ",".join(parts) + ',"data":').encode("utf-8") + value + b"}"
    except UnicodeEncodeError:  # a lone surrogate in a header name
        return None
    try:
        event: Event = _VALIDATE_JSON(envelope, strict=True)
    except (ValidationError, ValueError):
        return None
    return event if event.schemaversion == _NEWEST[event.type] else None


class _RoutedTypes(dict[tuple[str, str], bool]):
    """Whether an event type may arrive on a topic, filled on first lookup (the batch path's routing check)."""

    def __init__(self, topic_aggregates: dict[str, Aggregate]) -> None:
        super().__init__()
        self.topic_aggregates = topic_aggregates

    def __missing__(self, key: tuple[str, str]) -> bool:
        expected = self.topic_aggregates.get(key[0])
        ok = self[key] = expected is None or aggregate_of(key[1]) == expected
        return ok


def _iso(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def typed_model(event_type: str) -> type[Event]:
    """The Event subclass whose ``data`` is typed as ``event_type``'s payload."""
    return _MODELS[event_type]


def event_from_dict(raw: dict[str, Any]) -> Event:
    """Validate a structured envelope given as a dict (producers, JSON-lines files, the event store)."""
    return Codec().from_envelope(raw)


def payload_type(event: Event) -> type[BaseModel]:
    """The payload model class of an event's type."""
    return EVENT_TYPES[event.type][0]


__all__ = [
    "REASONS",
    "Codec",
    "DecodeError",
    "Record",
    "aggregate_of",
    "event_from_dict",
    "payload_type",
    "typed_model",
]
