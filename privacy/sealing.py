"""Per-person encryption of petitioners (crypto-shredding): :class:`Sealer` seals, unseals and forgets.

Each petitioner is sealed with AES-256-GCM under its person's data key (:mod:`privacy.keystore`), bound to
the person by associated data and padded so the length of a name does not show; forgetting destroys the keys,
after which every copy reads as erased and new plaintext for that person is stored erased too (so replays
cannot resurrect it). No I/O except through the KeyStore port; nothing here logs or quotes personal values.
Sealing whole events is :mod:`privacy.event_sealing`. Design, format and residual exposure:
docs/personal-data.md ("Encryption at rest", "Forgetting a person", "What casetrack cannot erase").
"""

from __future__ import annotations

import binascii
import hmac
import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from privacy.keystore import KEY_BYTES, MAX_PERSON_LEN, KeyStore, check_destroy_reason, check_person
from privacy.pseudonyms import (
    FIELDS,
    PetitionerLike,
    Pseudonymizer,
    _as_mapping,
    _fields_of,
    _identity_of_fields,
)

__all__ = [
    "ALG",
    "NONCE_BYTES",
    "PAD_BLOCK",
    "SEALED_VERSION",
    "KeyMissing",
    "SealError",
    "Sealed",
    "Sealer",
    "is_erased",
    "is_sealed",
]

SEALED_VERSION: Final = 1
ALG: Final = "AES-256-GCM"
PAD_BLOCK: Final = 64
NONCE_BYTES: Final = 12

#: A sealed petitioner, as stored and as sent on the wire: JSON-ready primitives only.
Sealed = dict[str, Any]

_AAD_PREFIX: Final = b"casetrack/petitioner/v1\x00"
_SEALED_KEYS: Final = frozenset({"v", "alg", "person", "nonce", "ct"})
_ERASED_KEYS: Final = frozenset({"v", "person", "erased"})
_NONCE_B64_LEN: Final = 16


# --- the sealed form ----------------------------------------------------------------------------------
class SealError(Exception):
    """A sealed petitioner that cannot be opened: malformed, unsupported, or failing authentication."""


class KeyMissing(SealError):
    """No key for a person who was never forgotten: the key store lost data. Never reported as "erased"."""

    def __init__(self, person: str) -> None:
        super().__init__("no data key for a person who has not been forgotten")
        self.person = person


def is_sealed(value: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether ``value`` is a sealed petitioner of a supported version (ciphertext or erased form).

    Strict on shape, so a plaintext petitioner (keys ``name``/``phone``/``id_number``) is never mistaken for a
    sealed one and a malformed or future-version sealed value is not waved through as-is. Ciphertext
    authenticity is only checked by :meth:`Sealer.unseal`.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        return False
    keys = value.keys()
    version = value.get("v")
    if type(version) is not int or version != SEALED_VERSION:
        return False
    person = value.get("person")
    if not isinstance(person, str) or not person or len(person) > MAX_PERSON_LEN:
        return False
    if keys == _SEALED_KEYS:
        nonce, ct = value["nonce"], value["ct"]
        return (
            value["alg"] == ALG
            and isinstance(nonce, str)
            and len(nonce) == _NONCE_B64_LEN
            and isinstance(ct, str)
            and bool(ct)
        )
    return keys == _ERASED_KEYS and value["erased"] is True


def is_erased(value: object) -> bool:
    """Whether ``value`` is the sealed *erased* form (no ciphertext at all)."""
    return is_sealed(value) and "erased" in value


def _erased(person: str) -> Sealed:
    return {"v": SEALED_VERSION, "person": person, "erased": True}


def _aad(person: str) -> bytes:
    return _AAD_PREFIX + person.encode("utf-8")


_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _encode(fields: Mapping[str, str]) -> bytes:
    raw = _JSON.encode(fields).encode("utf-8")
    # JSON ignores trailing whitespace, so padding needs no framing and unsealing no un-padding.
    return raw + b" " * (-len(raw) % PAD_BLOCK)


_JSON_DECODER: Final = json.JSONDecoder()


def _decode(plaintext: bytes) -> dict[str, str]:
    try:
        fields = _JSON_DECODER.decode(plaintext.decode("utf-8"))  # trailing padding is JSON whitespace
    except ValueError:  # includes UnicodeDecodeError
        raise SealError("sealed petitioner decrypted to malformed content") from None
    if (
        not isinstance(fields, dict)
        or not FIELDS.issuperset(fields)
        or not all(isinstance(v, str) for v in fields.values())
    ):
        raise SealError("sealed petitioner decrypted to malformed content")
    return fields


def _b64decode(value: str) -> bytes:
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise SealError("sealed petitioner has malformed base64") from None


# --- the sealer ---------------------------------------------------------------------------------------
class Sealer:
    """Seals petitioners under per-person keys and opens them again; forgets persons.

    Every batch asks the key store once (:meth:`KeyStore.get_or_create_many` / :meth:`KeyStore.get_many`), so a
    key destroyed by any process is honoured from the next batch on. Keys are *not* cached across batches;
    only the ``AESGCM`` objects built from them are, in a bounded LRU of ``cache_size`` persons, and a cached
    object is used only if its key equals the key the store just returned.

    Thread-safe. ``unseal`` returns ``None`` for erased data; ``seal``/``seal_many`` pass already sealed
    values (sealed at the source by a producer with the same scheme) through unchanged.
    """

    __slots__ = ("_pseudonymizer", "_keystore", "_cache", "_cache_size", "_lock")

    def __init__(self, pseudonymizer: Pseudonymizer, keystore: KeyStore, *, cache_size: int = 4096) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self._pseudonymizer = pseudonymizer
        self._keystore = keystore
        self._cache: OrderedDict[str, tuple[bytes, AESGCM]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Sealer cached={len(self._cache)}/{self._cache_size}>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("a Sealer holds keys and cannot be pickled")

    @property
    def pseudonymizer(self) -> Pseudonymizer:
        return self._pseudonymizer

    @property
    def keystore(self) -> KeyStore:
        return self._keystore

    def with_keystore(self, keystore: KeyStore) -> Sealer:
        """A sealer on another handle of the key store (the consumer's: one bound to the batch transaction,
        so a committed event never lacks its key). It shares this sealer's
        pseudonymizer and ``AESGCM`` cache; the cache is safe to share because a cached object is only used
        when its key equals the key the store returned for the current batch."""
        other = object.__new__(Sealer)
        other._pseudonymizer = self._pseudonymizer
        other._keystore = keystore
        other._cache = self._cache
        other._cache_size = self._cache_size
        other._lock = self._lock
        return other

    # --- sealing -------------------------------------------------------------------------------------
    def seal(self, petitioner: PetitionerLike) -> Sealed | None:
        """The sealed form of a petitioner; ``None`` if it has no non-blank field (nothing to protect).

        An already sealed value is returned unchanged (as a new dict). A forgotten person yields the erased
        form. Raises ``ValueError``/``TypeError`` for a petitioner with unknown fields or non-string values.
        """
        return self.seal_many([petitioner])[0]

    def seal_many(
        self,
        petitioners: Sequence[PetitionerLike | None],
        *,
        anchors: Sequence[str] | None = None,
    ) -> list[Sealed | None]:
        """:meth:`seal` for a batch, in order, with one key-store round trip. ``None`` entries stay ``None``.

        ``anchors`` (one per petitioner, normally the event id) make the ``a_`` person of a name-only
        petitioner deterministic (:meth:`Pseudonymizer.anonymous`); without them it is random.
        """
        if anchors is not None and len(anchors) != len(petitioners):
            raise ValueError("anchors must have one entry per petitioner")
        out: list[Sealed | None] = [None] * len(petitioners)
        todo = self._plan(petitioners, anchors, out)
        if not todo:
            return out
        aeads = self._aeads(self._keystore.get_or_create_many({person for _, person, _ in todo}))
        nonces = os.urandom(NONCE_BYTES * len(todo))
        b64 = binascii.b2a_base64
        for n, (i, person, plaintext) in enumerate(todo):
            found = aeads.get(person)
            if found is None:  # forgotten: never produce a readable ciphertext again
                out[i] = _erased(person)
                continue
            aead, aad = found
            nonce = nonces[n * NONCE_BYTES : (n + 1) * NONCE_BYTES]
            out[i] = {
                "v": SEALED_VERSION,
                "alg": ALG,
                "person": person,
                "nonce": b64(nonce, newline=False).decode("ascii"),
                "ct": b64(aead.encrypt(nonce, plaintext, aad), newline=False).decode("ascii"),
            }
        return out

    def _plan(
        self,
        petitioners: Sequence[PetitionerLike | None],
        anchors: Sequence[str] | None,
        out: list[Sealed | None],
    ) -> list[tuple[int, str, bytes]]:
        """(index, person, plaintext) of each petitioner still to seal; already-sealed ones go straight to
        ``out``, blank ones stay ``None``."""
        todo: list[tuple[int, str, bytes]] = []
        # Repeat petitioners within a batch are common; this memo (raw identifier -> pseudonym) lives only as long
        # as the batch itself, so it keeps no personal data in memory beyond what the caller already holds.
        memo: dict[tuple[str, str], str] = {}
        pseudonymizer = self._pseudonymizer
        for i, petitioner in enumerate(petitioners):
            if petitioner is None:
                continue
            petitioner = _as_mapping(petitioner)
            if "v" in petitioner and is_sealed(petitioner):
                out[i] = dict(petitioner)
                continue
            fields = _fields_of(petitioner)
            if not fields:
                continue
            # The person is a function of both raw identifiers (an ID number may normalise to nothing).
            memo_key = (fields.get("id_number", ""), fields.get("phone", ""))
            person = memo.get(memo_key)
            if person is None:
                ident = _identity_of_fields(fields)
                if ident is None:  # unlinkable: never memoised
                    person = (
                        "a_" + secrets.token_hex(16)
                        if anchors is None
                        else pseudonymizer.anonymous(anchors[i])
                    )
                else:
                    person = memo[memo_key] = pseudonymizer._pseudonym(*ident)
            todo.append((i, person, _encode(fields)))
        return todo

    # --- unsealing -----------------------------------------------------------------------------------
    def unseal(self, sealed: Mapping[str, Any] | BaseModel) -> dict[str, str] | None:
        """The plaintext fields of a sealed petitioner, or ``None`` if it is erased (its key was destroyed).

        Raises :class:`SealError` for anything not sealed, unsupported or failing authentication (tampered,
        or moved to another person), and :class:`KeyMissing` if the key is gone without a destruction.
        """
        return self.unseal_many([sealed])[0]

    def unseal_many(
        self, sealed: Sequence[Mapping[str, Any] | BaseModel | None]
    ) -> list[dict[str, str] | None]:
        """:meth:`unseal` for a batch, in order, with one key-store round trip. ``None`` entries stay ``None``.
        Accepts ``SealedPetitioner`` models as well as mappings."""
        values = [v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v for v in sealed]
        persons: set[str] = set()
        for value in values:
            if value is None:
                continue
            if not is_sealed(value):
                raise SealError("not a sealed petitioner of a supported version")
            if "ct" in value:
                persons.add(value["person"])
        keys = self._keystore.get_many(persons) if persons else {}
        for person in persons - keys.keys():
            if not self._keystore.is_forgotten(person):
                raise KeyMissing(person)
        aeads = self._aeads(keys)
        out: list[dict[str, str] | None] = []
        for value in values:
            found = None if value is None or "ct" not in value else aeads.get(value["person"])
            if value is None or found is None:  # nothing given, or erased
                out.append(None)
                continue
            aead, aad = found
            nonce = _b64decode(value["nonce"])
            if len(nonce) != NONCE_BYTES:
                raise SealError("sealed petitioner has a malformed nonce")
            try:
                plaintext = aead.decrypt(nonce, _b64decode(value["ct"]), aad)
            except InvalidTag:
                raise SealError("sealed petitioner failed authentication") from None
            out.append(_decode(plaintext))
        return out

    # --- forgetting ----------------------------------------------------------------------------------
    def forget(self, petitioner: PetitionerLike, *, requested_by: str, reason: str) -> dict[str, bool]:
        """Destroy the keys of **every** identifier the petitioner carries (ID number and phone), tombstoning
        each pseudonym. Returns ``{pseudonym: whether a key existed}``.

        Data sealed under another person's key is untouched, even if it mentions this phone number (a relative
        filing with their own ID number): that record belongs to its own person. A name-only petitioner cannot
        be found by identity; forget its ``a_`` person from the sealed record with :meth:`forget_person`.
        """
        check_destroy_reason(requested_by, reason)
        persons = list(self._pseudonymizer.pseudonyms(petitioner).values())
        if not persons:
            raise ValueError("petitioner has no id_number or phone to forget by")
        return {p: self.forget_person(p, requested_by=requested_by, reason=reason) for p in persons}

    def forget_person(self, person: str, *, requested_by: str, reason: str) -> bool:
        """Destroy one person's key (a pseudonym or an ``a_`` id) and drop it from the cache."""
        check_person(person)
        existed = self._keystore.destroy(person, requested_by=requested_by, reason=reason)
        with self._lock:
            self._cache.pop(person, None)
        return existed

    def ciphers(self, keys: Mapping[str, bytes]) -> dict[str, tuple[AESGCM, bytes]]:
        """``person -> (AESGCM, petitioner associated data)`` for keys just returned by the key store, from the
        shared cache (:mod:`privacy.text_sealing` seals free text with them under its own associated data)."""
        return self._aeads(keys)

    # --- internals -----------------------------------------------------------------------------------
    def _aeads(self, keys: Mapping[str, bytes]) -> dict[str, tuple[AESGCM, bytes]]:
        """``person -> (AESGCM, associated data)`` for the keys the store just returned."""
        out: dict[str, tuple[AESGCM, bytes]] = {}
        with self._lock:
            cache = self._cache
            for person, key in keys.items():
                if len(key) != KEY_BYTES:
                    raise SealError("the key store returned a key of the wrong length")
                hit = cache.get(person)
                if hit is not None and hmac.compare_digest(hit[0], key):
                    cache.move_to_end(person)
                    out[person] = (hit[1], _aad(person))
                    continue
                aead = AESGCM(key)
                out[person] = (aead, _aad(person))
                if self._cache_size:
                    cache[person] = (key, aead)
                    cache.move_to_end(person)
                    while len(cache) > self._cache_size:
                        cache.popitem(last=False)
        return out
