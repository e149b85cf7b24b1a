"""The Generations port: what ``casetrack replay`` needs to build a projection generation beside the live one,
swap it in and drop the old one, without knowing the database.

A generation is one build of one projection family; analysts see only the live one. The swap happens inside a
:class:`SwapWindow`: one transaction that holds the family's live row, so live consumers cannot move their
positions until it ends (docs/architecture.md, "Generations port"). Adapters: :mod:`ops.pg_generations`
(PostgreSQL) and :mod:`ops.memory_generations` (in memory, for tests), under one contract suite
(``tests/contracts/generations_contract.py``). Driver errors leave the adapters as :class:`GenerationsError`
or, when a retry may cure them, as :class:`consumers.ports.StoreUnavailable` / ``TransientStoreError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from consumers.ports import TP, StoreError, StoreTx

FAMILIES = ("case", "supervision", "rectification")
Source = Literal["kafka", "event-store"]
Status = Literal["building", "live", "retired", "abandoned"]


class GenerationsError(StoreError):
    """A generation operation failed (``orig``: the driver's error, if any)."""


class GenerationLive(GenerationsError):
    """Refused: the generation is live (analysts see it), so its rows and positions stay."""


class NoLiveGeneration(GenerationsError):
    """The family has no live generation: the schema is missing (``casetrack migrate``)."""


@dataclass(frozen=True)
class GenerationInfo:
    """One generation as recorded."""

    generation: int
    family: str
    source: Source
    status: Status


class SwapWindow(Protocol):
    """One transaction holding the family's live row: live consumers wait, so their positions cannot move.
    Commits when the block ends normally, rolls back (nothing happened) when it raises."""

    live: int  # the generation that was live when the window opened

    def positions(self, generation: int) -> dict[TP, int]:
        """Stored next offsets of ``generation``, as committed so far (other connections' commits included)."""

    def max_seq(self) -> int:
        """The highest event-store sequence number of the family (0 when none): the replay's *cut*."""

    def count_events(self) -> int:
        """How many events of the family the event store holds."""

    def subjects_after(self, after: int, upto: int | None) -> list[str]:
        """Subjects with events whose sequence number is in ``(after, upto]`` (``upto`` None: no bound)."""

    def store_tx(self) -> StoreTx:
        """The store's operations inside this transaction (a refold that must commit with the swap)."""

    def copy_positions(self, source: int, target: int) -> None:
        """Give ``target`` (which has none) the stored positions of ``source``."""

    def set_positions(self, generation: int, positions: Mapping[TP, int]) -> None:
        """Set (insert or overwrite) these next offsets of ``generation``."""

    def swap(self, new: int) -> None:
        """Make ``new`` live and retire :attr:`live`."""


class Generations(Protocol):
    """Projection generations: create, fill, swap, drop. One session (connection); not thread-safe."""

    def try_lock(self, family: str) -> bool:
        """Take the family's replay lock for this session; False if another session holds it."""

    def unlock(self, family: str) -> None:
        """Release the replay lock taken by :meth:`try_lock` (closing the session releases it too)."""

    def create(self, family: str, source: Source) -> int:
        """Record a new generation, ``building``; returns its number (higher than any before)."""

    def live(self, family: str) -> int | None:
        """The family's live generation (None: no schema)."""

    def history(self, family: str) -> list[GenerationInfo]:
        """The family's generations, oldest first."""

    def positions(self, generation: int) -> dict[TP, int]:
        """Stored next offsets of ``generation``."""

    def subjects_after(self, family: str, after: int, upto: int | None) -> list[str]:
        """As :meth:`SwapWindow.subjects_after`, outside a window."""

    def transaction(self) -> AbstractContextManager[StoreTx]:
        """A store transaction outside a window (to fold into a building generation)."""

    def window(self, family: str) -> AbstractContextManager[SwapWindow]:
        """Open a swap window on ``family`` (raises :class:`NoLiveGeneration` when there is no live row)."""

    def abandon(self, generation: int) -> bool:
        """Mark a ``building`` generation ``abandoned``; False if it is not building (e.g. swapped in)."""

    def count_rows(self, table: str, generation: int) -> int:
        """Rows of ``generation`` in the projection table ``table``."""

    def delete_rows(self, table: str, key_column: str, generation: int, limit: int) -> int:
        """Delete at most ``limit`` rows of a non-live ``generation`` from ``table`` in one short transaction;
        returns how many. Raises :class:`GenerationLive` for the live generation."""

    def forget_positions(self, generation: int) -> None:
        """Delete the stored positions of a non-live ``generation``."""

    def close(self) -> None: ...
