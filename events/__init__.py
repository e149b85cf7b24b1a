"""The event catalog: frozen, versioned pydantic models of every event in the contract, and one codec."""

from events.catalog import EVENT_TYPES, Aggregate, Event, aggregate_of
from events.codec import Codec, DecodeError, Record

__all__ = ["EVENT_TYPES", "Aggregate", "Codec", "DecodeError", "Event", "Record", "aggregate_of"]
