"""The realistic workload generator's public entry point: a seeded month of a city's case work, as the Kafka
messages upstream systems send (``casetrack demo``, the tests, the benchmark).

This module is a stable facade: the implementation lives in the package :mod:`producers.workload` (one module
per concern: configuration, calendar time, envelope encoding, case and oversight life cycles, intake, malformed
messages, the time-ordered stream), and everything importable from here before the split still is. Same
:class:`GeneratorConfig`, same byte stream.
"""

from __future__ import annotations

from producers.workload.base import Life as Life
from producers.workload.base import Step as Step
from producers.workload.clock import DAY as DAY
from producers.workload.clock import TZ as TZ
from producers.workload.clock import Calendar as Calendar
from producers.workload.config import EVENTS_PER_INTAKE_CASE, GenerationStats, GeneratorConfig, Message
from producers.workload.config import AggregateName as AggregateName
from producers.workload.config import MessageKind as MessageKind
from producers.workload.defects import MALFORMED_REASONS
from producers.workload.stream import generate, generate_with_stats

__all__ = [
    "EVENTS_PER_INTAKE_CASE",
    "MALFORMED_REASONS",
    "GenerationStats",
    "GeneratorConfig",
    "Message",
    "generate",
    "generate_with_stats",
]
