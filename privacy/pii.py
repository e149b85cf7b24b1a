"""Personal data of petitioners (个人信息): one import for everything the consumer, producers and tools use.

* :mod:`privacy.pseudonyms`: normalisation of ID and phone numbers, and keyed pseudonyms (``p_`` / ``a_``).
* :mod:`privacy.sealing`: per-person AES-256-GCM sealing, forgetting (crypto-shredding), and
  :func:`seal_events` / :func:`seal_event` for the consumer and for producers that encrypt at the source.
* :mod:`privacy.keystore`: the key-store port under both.

See the docs/personal-data.md for the whole picture (keys, roles, ``casetrack forget``, what cannot be erased).
"""

from __future__ import annotations

from privacy.event_sealing import petitioner_model, seal_event, seal_events
from privacy.keystore import PersonForgotten
from privacy.pseudonyms import (
    FIELDS,
    KINDS,
    MIN_PSEUDONYM_KEY_BYTES,
    Kind,
    PetitionerLike,
    Pseudonymizer,
    identity,
    is_linkable,
    is_mobile,
    is_valid_id_number,
    normalise,
    normalise_id_number,
    normalise_phone,
    person_ref,
)
from privacy.sealing import (
    ALG,
    NONCE_BYTES,
    PAD_BLOCK,
    SEALED_VERSION,
    KeyMissing,
    Sealed,
    Sealer,
    SealError,
    is_erased,
    is_sealed,
)

__all__ = [
    "ALG",
    "FIELDS",
    "KINDS",
    "MIN_PSEUDONYM_KEY_BYTES",
    "NONCE_BYTES",
    "PAD_BLOCK",
    "SEALED_VERSION",
    "Kind",
    "KeyMissing",
    "PersonForgotten",
    "PetitionerLike",
    "Pseudonymizer",
    "SealError",
    "Sealed",
    "Sealer",
    "identity",
    "is_erased",
    "is_linkable",
    "is_mobile",
    "is_sealed",
    "is_valid_id_number",
    "normalise",
    "normalise_id_number",
    "normalise_phone",
    "person_ref",
    "petitioner_model",
    "seal_event",
    "seal_events",
]
