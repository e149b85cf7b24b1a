"""A seeded, realistic workload: a month of a city's case work, as the Kafka messages upstream systems send.

Used by ``casetrack demo``, the tests and the benchmarks (re-exported by :mod:`producers.generator`). Same
:class:`GeneratorConfig`, same byte stream. Each aggregate is a Python generator yielding its events in ``time``
order; a calendar queue merges them, and late, duplicate, malformed and binary-mode messages are mixed in
(docs/demo.md, "Publish"). The modules: :mod:`.config`, :mod:`.data`, :mod:`.clock`, :mod:`.envelope`,
:mod:`.base`, :mod:`.people`, :mod:`.cases`, :mod:`.oversight`, :mod:`.report_fields`, :mod:`.intake`,
:mod:`.defects`, :mod:`.stream` (mixins of one class, :class:`.stream.Sim`).
"""

from producers.workload.config import (
    EVENTS_PER_INTAKE_CASE,
    AggregateName,
    GenerationStats,
    GeneratorConfig,
    Message,
    MessageKind,
)
from producers.workload.defects import MALFORMED_REASONS
from producers.workload.stream import generate, generate_with_stats

__all__ = [
    "EVENTS_PER_INTAKE_CASE",
    "MALFORMED_REASONS",
    "AggregateName",
    "GenerationStats",
    "GeneratorConfig",
    "Message",
    "MessageKind",
    "generate",
    "generate_with_stats",
]
