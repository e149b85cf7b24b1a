"""Personal data in the consumer: sealing before storage.

:class:`PersonalDataTransform` is the runner's :class:`~consumers.runner.EventTransform`. Inside the batch
transaction, before the engine appends to the event store or folds, it replaces every plaintext petitioner
with its sealed form (AES-256-GCM under the person's own key, see :mod:`privacy.pii`), and masks the personal
data written in every free-text field (:mod:`privacy.text_sealing`: placeholders in the event, the sealed
originals in ``casetrack.text_seals``), so neither the event store nor any projection ever holds plaintext. Petitioners sealed at the source pass through; those of a
forgotten person become the erased form. The keys of a batch are looked up in the batch's own transaction,
with one query when they all exist; new ones are created and committed on the store's side connection first
(see :mod:`privacy.pg_keystore`), so consumer processes never wait for each other's batches.

Forgetting a person and officers' look-ups are :mod:`privacy.erase` and :mod:`privacy.lookup`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consumers.pg_store import PgStoreTx
from consumers.ports import StoredEvent, StoreTx
from events import data as d
from events.catalog import Event
from privacy.keystore import KeyStore
from privacy.petitioner_memory import PetitionerMemory
from privacy.pg_text_seals import received_petitioners, save_text_seals
from privacy.pii import Sealer, seal_events
from privacy.text_sealing import CASE_TEXT_TYPES, TextSeal, protect_texts

__all__ = ["PersonalDataTransform"]


class PersonalDataTransform:
    """Seals the petitioners of a batch and masks the personal data in its free text (see the module
    docstring). ``keystore_for(tx)`` gives the key store bound to the batch transaction
    (:func:`privacy.pg_keystore.keystore_for_tx`); without it the sealer's own key store is used (the
    in-memory store in tests). Seals of free text go to ``casetrack.text_seals`` in the batch transaction; on
    another store (the in-memory one in tests) they are kept in :attr:`unstored_seals`.

    The detector needs each case's petitioner (their name is found in the case's texts): it remembers the
    petitioners of the last ``known_cases`` cases it saw received (:class:`PetitionerMemory`), and looks up
    the others' sealed petitioner in the event store once per batch. A text that arrives before its case's
    ``case.received`` is searched without the name (docs/personal-data.md).
    """

    def __init__(
        self,
        sealer: Sealer,
        keystore_for: Callable[[StoreTx], KeyStore] | None = None,
        *,
        known_cases: int = 50_000,
    ) -> None:
        self._sealer = sealer
        self._keystore_for = keystore_for
        self._known = PetitionerMemory(known_cases)
        self.unstored_seals: list[TextSeal] = []

    def __repr__(self) -> str:
        return f"<PersonalDataTransform {self._sealer!r} {self._known!r}>"

    def __getstate__(self) -> object:
        raise TypeError("a PersonalDataTransform holds personal data and keys and cannot be pickled")

    def __call__(self, tx: StoreTx, events: list[StoredEvent]) -> list[StoredEvent]:
        sealer = (
            self._sealer if self._keystore_for is None else self._sealer.with_keystore(self._keystore_for(tx))
        )
        originals = [se.event for se in events]
        sealed = seal_events(originals, sealer)
        self._known.remember(originals, sealed, sealer)
        self._look_up(tx, sealed, sealer)
        masked, seals = protect_texts(sealed, sealer, self._known)
        if seals:
            if isinstance(tx, PgStoreTx):
                save_text_seals(tx.cur, seals)
            else:
                self.unstored_seals.extend(seals)
        # Both steps return the same object for every event they left alone: rebuild only the others.
        return [
            se if new is se.event else StoredEvent(new, se.topic, se.partition, se.offset)
            for se, new in zip(events, masked, strict=True)
        ]

    def _look_up(self, tx: StoreTx, events: list[Event], sealer: Sealer) -> None:
        """Read the petitioners of the batch's cases not met yet from the store (one query)."""
        known = self._known
        missing = {e.subject for e in events if e.type in CASE_TEXT_TYPES and e.subject not in known}
        if not missing:
            return
        cases = sorted(missing)
        stored = _received_petitioners(tx, cases)
        for case_id in cases:
            known.put(case_id, None)  # no receipt stored yet: searched without a name (not looked up again)
        known.open(
            [(c, p["person"], p) for c, p in stored.items() if isinstance(p.get("person"), str)], sealer
        )


def _received_petitioners(tx: StoreTx, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    if isinstance(tx, PgStoreTx):
        return received_petitioners(tx.cur, case_ids)
    out: dict[str, dict[str, Any]] = {}
    for case_id, history in tx.load_history("case", case_ids).items():
        for event in history:
            if isinstance(event.data, d.CaseReceived) and event.data.petitioner is not None:
                out[case_id] = event.data.petitioner.model_dump()
    return out
