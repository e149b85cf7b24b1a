"""The CloudEvents 1.0 envelope of a valid event, as the Kafka message upstream systems send.

Structured mode (most events): one compact JSON object, ``content-type: application/cloudevents+json``, the
payload under ``data``. Binary mode: the bare payload as the value and the attributes as ``ce_`` headers. The
envelope is written from a template rather than through ``json.dumps`` of a dict because it is built once per
event (a million times in the benchmark) and every attribute but ``source`` and ``data`` is known to need no
escaping; :func:`dumps` is the one JSON encoder of the workload (compact, non-ASCII as is).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from producers.workload.config import AggregateName, Headers

#: the fields of a valid message (aggregate, key, value, headers, event id, type)
Wire = tuple[AggregateName, bytes, bytes, Headers, str, str]

STRUCTURED_HEADERS: Final[Headers] = (("content-type", b"application/cloudevents+json"),)
_BINARY_CONTENT_TYPE: Final = ("content-type", b"application/json")
_UUID_CLEAR: Final = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET: Final = (0x8000 << 48) | (0x4000 << 64)


def _make_dumps() -> Callable[[Any], str]:
    """Compact JSON, non-ASCII as is: ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, calling
    the C encoder directly (about twice as fast as going through ``JSONEncoder.encode``)."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    chunks = make(None, None, encoder.encode_basestring, None, ":", ",", False, False, True)
    join = "".join

    def dumps(obj: Any) -> str:
        return join(chunks(obj, 0))

    return dumps


dumps: Final = _make_dumps()


def event_id(bits: int) -> str:
    """A random (version 4, RFC 4122 variant) UUID string made of 128 random ``bits``."""
    h = "%032x" % ((bits & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Envelopes:
    """Writes the envelopes of one run; remembers the JSON string of each ``source`` (one per upstream system)."""

    def __init__(self) -> None:
        self._source_json: dict[str, str] = {}

    def encode(
        self,
        bits: int,
        binary: bool,
        aggregate: AggregateName,
        subject: str,
        source: str,
        etype: str,
        time_s: str,
        ver: int,
        data_json: str,
    ) -> Wire:
        """The message of one event: its id made of ``bits``, in binary mode if ``binary``. ``data_json`` is
        the payload as :func:`dumps` wrote it; ``schemaversion`` is written only when it is not 1."""
        h = "%032x" % ((bits & _UUID_CLEAR) | _UUID_SET)  # event_id(bits), inlined: once per message
        eid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        key = subject.encode()
        if binary:
            headers: Headers = (
                ("ce_specversion", b"1.0"), ("ce_id", eid.encode()), ("ce_source", source.encode()),
                ("ce_type", etype.encode()), ("ce_subject", key), ("ce_time", time_s.encode()),
                *((("ce_schemaversion", str(ver).encode()),) if ver != 1 else ()), _BINARY_CONTENT_TYPE,
            )  # fmt: skip
            return aggregate, key, data_json.encode(), headers, eid, etype
        src = self._source_json.get(source)
        if src is None:
            src = self._source_json[source] = dumps(source)
        version = f'"schemaversion":{ver},' if ver != 1 else ""
        value = (
            f'{{"specversion":"1.0","id":"{eid}","source":{src},"type":"{etype}","subject":"{subject}",'
            f'"time":"{time_s}","datacontenttype":"application/json",{version}"data":{data_json}}}'
        )
        return aggregate, key, value.encode(), STRUCTURED_HEADERS, eid, etype


def envelope_dict(
    eid: str, source: str, etype: str, subject: str, time_s: str, ver: int, data_json: str
) -> dict[str, Any]:
    """The structured envelope as a dict (``schemaversion`` always present), for :mod:`.defects` to corrupt."""
    return {"specversion": "1.0", "id": eid, "source": source, "type": etype, "subject": subject,
            "time": time_s, "datacontenttype": "application/json", "schemaversion": ver,
            "data": json.loads(data_json)}  # fmt: skip
