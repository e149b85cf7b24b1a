"""Per-person data keys for crypto-shredding: the :class:`KeyStore` port and an in-memory adapter.

Every adapter honours the semantics in docs/personal-data.md ("Key store semantics"), checked by
``tests/contracts/keystore_contract.py``: atomic creation, permanent forgetting with a tombstone, audited
destruction, no key material in ``repr``, logs or messages.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
MAX_PERSON_LEN: Final = 200
WRAP_NONCE_BYTES: Final = 12
WRAPPED_KEY_BYTES: Final = WRAP_NONCE_BYTES + KEY_BYTES + 16  # nonce, ciphertext, GCM tag
_HEX: Final = re.compile(r"[0-9a-fA-F]+")


class PersonForgotten(Exception):
    """The person's key was destroyed; no new key is created for them, ever.

    The pseudonym is available as :attr:`person` but is deliberately not part of the message.
    """

    def __init__(self, person: str) -> None:
        super().__init__("the person has been forgotten; their key was destroyed")
        self.person = person


def check_person(person: str) -> str:
    """Validate a person identifier for a key store; return it unchanged. The message never quotes it."""
    if not isinstance(person, str):
        raise TypeError("person must be a str")
    if not person or len(person) > MAX_PERSON_LEN or "\x00" in person:
        raise ValueError(f"person must be 1..{MAX_PERSON_LEN} characters without NUL")
    return person


def check_destroy_reason(requested_by: str, reason: str) -> None:
    """Both audit fields of a destruction must be non-blank strings."""
    for label, value in (("requested_by", requested_by), ("reason", reason)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{label} must be a non-blank string")


class KeyStoreError(RuntimeError):
    """The stored keys cannot be used as configured (for example, wrapped under another KEK)."""


@runtime_checkable
class KeyStore(Protocol):
    """The port: per-person 256-bit data keys with permanent, audited destruction.

    Batch methods exist because the consumer works in batches of thousands of events: an adapter backed by a
    database must answer each of them in a constant number of round trips, not one per person. They accept
    any iterable (duplicates allowed) and answer with a dict keyed by person.
    """

    def get_or_create(self, person: str) -> bytes:
        """The person's key, created atomically if absent. Raises :class:`PersonForgotten` if destroyed."""
        ...

    def get(self, person: str) -> bytes | None:
        """The person's key, or ``None`` if it was never created or has been destroyed."""
        ...

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        """:meth:`get_or_create` for many persons; forgotten persons are left out (and not re-created)."""
        ...

    def get_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        """:meth:`get` for many persons; persons without a live key are left out."""
        ...

    def destroy(self, person: str, *, requested_by: str, reason: str) -> bool:
        """Destroy the key and tombstone the person (even if no key existed). Returns whether a key existed."""
        ...

    def is_forgotten(self, person: str) -> bool:
        """Whether the person has been tombstoned by :meth:`destroy`."""
        ...


@dataclass(frozen=True, slots=True)
class Destruction:
    """One audit record of a key destruction. Holds the pseudonym, never key material."""

    person: str
    requested_by: str
    reason: str
    at: dt.datetime
    key_existed: bool


class InMemoryKeyStore:
    """A thread-safe :class:`KeyStore` in process memory, for tests and the embedded stack.

    Nothing survives the process, which also means nothing is ever wiped from memory in a way Python could
    guarantee: ``bytes`` are immutable and the allocator may keep copies. That is acceptable for tests; a
    production adapter keeps keys in a database, wrapped under a key-encryption key.
    """

    __slots__ = ("_keys", "_forgotten", "_lock", "_audit")

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._forgotten: set[str] = set()
        self._lock = threading.Lock()
        self._audit: list[Destruction] = []

    def __repr__(self) -> str:
        with self._lock:
            return f"<InMemoryKeyStore keys={len(self._keys)} forgotten={len(self._forgotten)}>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        # Pickling would copy every key into wherever the pickle goes (a cache, a queue, a crash dump).
        raise TypeError("a key store cannot be pickled")

    # --- the port ------------------------------------------------------------------------------------
    def get_or_create(self, person: str) -> bytes:
        check_person(person)
        with self._lock:
            return self._get_or_create_locked(person)

    def get(self, person: str) -> bytes | None:
        check_person(person)
        with self._lock:
            return self._keys.get(person)

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        wanted = _unique_checked(persons)
        out: dict[str, bytes] = {}
        with self._lock:
            for person in wanted:
                if person not in self._forgotten:
                    out[person] = self._get_or_create_locked(person)
        return out

    def get_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        wanted = _unique_checked(persons)
        with self._lock:
            return {p: k for p in wanted if (k := self._keys.get(p)) is not None}

    def destroy(self, person: str, *, requested_by: str, reason: str) -> bool:
        check_person(person)
        check_destroy_reason(requested_by, reason)
        with self._lock:
            existed = self._keys.pop(person, None) is not None
            self._forgotten.add(person)
            self._audit.append(
                Destruction(person, requested_by.strip(), reason.strip(), dt.datetime.now(dt.UTC), existed)
            )
            return existed

    def is_forgotten(self, person: str) -> bool:
        check_person(person)
        with self._lock:
            return person in self._forgotten

    # --- extras --------------------------------------------------------------------------------------
    def destructions(self) -> list[Destruction]:
        """The audit trail of :meth:`destroy` calls, oldest first."""
        with self._lock:
            return list(self._audit)

    def _get_or_create_locked(self, person: str) -> bytes:
        key = self._keys.get(person)
        if key is None:
            if person in self._forgotten:
                raise PersonForgotten(person)
            key = secrets.token_bytes(KEY_BYTES)
            self._keys[person] = key
        return key


def _unique_checked(persons: Iterable[str]) -> list[str]:
    if isinstance(persons, str):
        # A lone string is an iterable of characters: almost certainly a caller bug.
        raise TypeError("persons must be an iterable of str, not a str")
    return [check_person(p) for p in dict.fromkeys(persons)]


# --- keys given in settings -----------------------------------------------------------------------------
def decode_key_setting(value: str, *, what: str, min_bytes: int = KEY_BYTES) -> bytes:
    """A secret key given as text (an environment variable): hex (``openssl rand -hex 32``) or base64
    (``openssl rand -base64 32``), at least ``min_bytes`` bytes once decoded. The message never quotes it."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str")
    text = value.strip()
    raw: bytes | None = None
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    else:
        try:
            raw = binascii.a2b_base64(text, strict_mode=True)
        except ValueError:
            raw = None
    if raw is None or len(raw) < min_bytes:
        raise ValueError(
            f"{what} must be at least {min_bytes} random bytes, written as hex or base64 "
            "(for example the output of `openssl rand -hex 32`)"
        )
    return raw


class KeyWrapper:
    """Wraps data keys (and other stored secrets) under a key-encryption key (KEK) held outside the database.

    AES-256-GCM with a fresh nonce per wrap and the owner of the key (a person, or the name of a secret) as
    associated data, so a wrapped key copied onto another row does not unwrap. Stored as
    ``nonce ‖ ciphertext ‖ tag`` (:data:`WRAPPED_KEY_BYTES` bytes) beside :attr:`kek_id`, a fingerprint that
    tells which KEK wrapped it (for rotation) and reveals nothing about it. With a KEK, a dump of the
    database, its WAL, its backups and its statement logs hold no usable data key.
    """

    __slots__ = ("_aead", "kek_id")

    def __init__(self, kek: bytes) -> None:
        if not isinstance(kek, bytes | bytearray) or len(kek) != KEY_BYTES:
            raise ValueError(f"the key-encryption key must be exactly {KEY_BYTES} bytes")
        self._aead = AESGCM(bytes(kek))
        self.kek_id = "kek_" + hmac.new(bytes(kek), b"casetrack/kek-id/v1", hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<KeyWrapper {self.kek_id}>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("a KeyWrapper holds a key and cannot be pickled")

    def wrap(self, owner: str, key: bytes) -> bytes:
        """``key`` encrypted under the KEK, bound to ``owner``."""
        nonce = os.urandom(WRAP_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, _wrap_aad(owner))

    def unwrap(self, owner: str, wrapped: bytes) -> bytes:
        """The key wrapped by :meth:`wrap` for ``owner``. Raises ``ValueError`` if it does not authenticate
        (another KEK, another owner, or a damaged value); the message quotes nothing."""
        if len(wrapped) <= WRAP_NONCE_BYTES:
            raise ValueError("a wrapped key is too short")
        try:
            return self._aead.decrypt(
                wrapped[:WRAP_NONCE_BYTES], wrapped[WRAP_NONCE_BYTES:], _wrap_aad(owner)
            )
        except InvalidTag:
            raise ValueError("a wrapped key failed authentication (wrong key-encryption key?)") from None


def _wrap_aad(owner: str) -> bytes:
    return b"casetrack/wrapped-key/v1\x00" + owner.encode("utf-8")


def unwrap_stored(wrapper: KeyWrapper | None, owner: str, stored: bytes, kek_id: str | None) -> bytes:
    """A key as stored (raw when ``kek_id`` is NULL, else wrapped under that KEK) in the clear."""
    if kek_id is None:
        if len(stored) != KEY_BYTES:
            raise KeyStoreError("a stored key has the wrong length")
        return stored
    if wrapper is None:
        raise KeyStoreError("stored keys are wrapped: configure the key-encryption key (KEK)")
    if kek_id != wrapper.kek_id:
        raise KeyStoreError(
            "stored keys are wrapped under another key-encryption key than the configured one"
        )
    try:
        return wrapper.unwrap(owner, stored)
    except ValueError as exc:
        raise KeyStoreError(str(exc)) from None
