"""A seeded, realistic workload: a month of a city's case work, as the Kafka messages upstream systems send.

Used by ``casetrack demo``, by the tests and as the benchmark workload (through :mod:`producers.generator`,
which re-exports this API). Same :class:`GeneratorConfig`, same byte stream: every random choice (event ids
included) comes from one ``random.Random(seed)``.

How it works. Each case, supervision order and rectification item is a small Python generator that yields its
life-cycle events in ``time`` order, drawing the next step only when the previous one is published. A calendar
queue holds the next pending event of every open aggregate, so publishing order is global ``time`` order across
aggregates and memory is bounded by the aggregates in flight. Intake is created one simulated day at a time.
On top of the time-ordered stream:

* ``late_fraction`` of the valid events are held back and published up to a few days later (out of order);
* ``duplicate_fraction``: an exact redelivery (same bytes) of one of the last published messages;
* ``malformed_fraction``: an invalid message, cycling through :data:`MALFORMED_REASONS` (each one is rejected
  by :class:`events.codec.Codec` with the reason given there);
* ``binary_mode_fraction`` of the valid events use the CloudEvents Kafka binary mode.

Times are placed in office hours (08:30-12:00, 14:00-17:30) on working days of :mod:`projections.calendar`
(holidays and 调休 working weekends included); 24-hour channels (the hotlines, online forms) receive around the
clock with a daytime peak. Long life cycles can run into a year without an official notice: the calendar's own
estimate is used there (a strict calendar that refuses such years gets Monday to Friday). Deadlines aimed at
follow ``projections/default_policy.toml``.

The modules, in dependency order: :mod:`.config` (the public value types), :mod:`.data` (proportions and name
lists), :mod:`.clock` (working days, timestamps), :mod:`.envelope` (CloudEvents encoding), :mod:`.base` (the
run's state and office-time helpers), :mod:`.people` (petitioners, regions, topics), :mod:`.cases` and
:mod:`.oversight` (the life cycles), :mod:`.intake` (daily volumes), :mod:`.defects` (malformed messages) and
:mod:`.stream` (the time-ordered merge and :func:`generate`). The simulation layers are mixins of one class,
:class:`.stream.Sim`, so the hot paths call each other as plain methods.
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
