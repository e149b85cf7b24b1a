"""Personal data of petitioners (个人信息): normalisation, pseudonyms and per-person encryption.

The pure layer under the consumer and the producers. Nothing here does I/O except through the
:class:`~events.keystore.KeyStore` port.

**Normalisation.** The same person writes their identifiers in many spellings. :func:`normalise_id_number`
and :func:`normalise_phone` map the spellings of one identifier to one string, so that they get one
pseudonym and one key. Invalid identifiers (a wrong checksum, a foreign number, garbage) are still
normalised consistently and still get a pseudonym: validity is reported by :func:`is_valid_id_number` and
:func:`is_mobile`, it never decides whether data is protected.

**Which identifier is the person.** :func:`identity` / :func:`person_ref`: the resident ID number when present,
otherwise the phone number, otherwise nobody (the name alone identifies no one reliably). The same human
seen once by ID number and once by phone alone gets two different pseudonyms: pseudonyms are derived from
one identifier, and a phone number is not proof of identity (families share phones). Repeat-petition counts
are therefore per identifier; erasure must name every identifier of the person (:meth:`Sealer.forget`).

**Pseudonyms.** :class:`Pseudonymizer`: ``p_`` + hex of HMAC-SHA256(key, label ‖ kind ‖ value) truncated
to 128 bits, domain-separated by kind, stable for as long as the key is unchanged. The key is what keeps the
few billion mainland mobile numbers from being enumerated in minutes: it must be secret, random, at least 256 bits,
and distinct from any key-encryption key. Rotating it changes every pseudonym, which orphans every data key
(they are looked up by pseudonym) and splits every repeat count: treat it as permanent. Petitioners with only
a name get a random, unlinkable ``a_`` person of their own (:func:`is_linkable` is false for it), so their
data is encrypted and shreddable too; it just cannot be found again by identity.

**Sealing.** :class:`Sealer` encrypts the whole petitioner with AES-256-GCM under the person's data key
(:mod:`events.keystore`), with a fresh random 96-bit nonce per seal (far below the 2**32 messages per key
bound for random nonces) and associated data binding the ciphertext to the format version and the person, so
a ciphertext moved to another person's record fails authentication. The plaintext is padded to a multiple of
:data:`PAD_BLOCK` bytes so that the ciphertext length does not reveal the length of a name. The sealed form
is plain JSON::

    {"v": 1, "alg": "AES-256-GCM", "person": "p_…", "nonce": "<base64>", "ct": "<base64>"}
    {"v": 1, "person": "p_…", "erased": true}          # nothing left to decrypt

**Forgetting (crypto-shredding).** :meth:`Sealer.forget` destroys the keys of every identifier of the person.
Afterwards :meth:`Sealer.unseal` returns ``None`` (erased) for everything sealed under them, and because the
key store refuses to create a new key for a forgotten person, sealing *new* plaintext for them yields the
erased form instead of a readable ciphertext. That is what makes replays safe: re-consuming old plaintext
events from Kafka cannot resurrect a forgotten person's data. The price, deliberately paid: if a forgotten
person petitions again, their petitioner fields are stored as erased too (the case facts are kept). The
sealer cannot tell a replayed event from a new one without trusting producer clocks, and it fails closed.

Residual exposure to know about: the pseudonym stays in immutable events and in the key store's tombstone,
so whoever holds the pseudonym key *and* the person's identifier can still find which cases carried that
identifier; plaintext sent by producers stays in Kafka until the topic's retention expires; and a destroyed
key lives on in key-store backups until they expire.

**Hygiene.** No function here logs. Exception messages never quote personal values or keys, and the
``repr`` of every key-holding object shows no key material; those objects also refuse to be pickled.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from events.keystore import (
    KEY_BYTES,
    MAX_PERSON_LEN,
    KeyStore,
    PersonForgotten,
    check_destroy_reason,
    check_person,
)

__all__ = [
    "ALG",
    "FIELDS",
    "KINDS",
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
]

Kind = Literal["id_number", "phone"]
KINDS: Final[tuple[Kind, ...]] = ("id_number", "phone")
FIELDS: Final = frozenset({"name", "phone", "id_number"})

SEALED_VERSION: Final = 1
ALG: Final = "AES-256-GCM"
PAD_BLOCK: Final = 64
NONCE_BYTES: Final = 12
MIN_PSEUDONYM_KEY_BYTES: Final = 32

#: A sealed petitioner, as stored and as sent on the wire: JSON-ready primitives only.
Sealed = dict[str, Any]
#: A petitioner as the sealer accepts it: an :class:`events.data.Petitioner` or ``SealedPetitioner`` model, or
#: the equivalent mapping (plaintext ``name``/``phone``/``id_number``, or a sealed form).
PetitionerLike = BaseModel | Mapping[str, object]

_PSEUDONYM_LABEL: Final = b"casetrack/pseudonym/v1\x00"
_AAD_PREFIX: Final = b"casetrack/petitioner/v1\x00"
_SEALED_KEYS: Final = frozenset({"v", "alg", "person", "nonce", "ct"})
_ERASED_KEYS: Final = frozenset({"v", "person", "erased"})
_NONCE_B64_LEN: Final = 16

# --- normalisation ------------------------------------------------------------------------------------
# Applied after NFKC, which already turns full-width digits, letters, brackets and the ideographic space
# into their ASCII forms. Dashes of every width, brackets, dots, slashes and the middle dot are separators.
_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015\u2212()\[\]{}./\\·・_]+")
_MOBILE: Final = re.compile(r"1[3-9][0-9]{9}")
_ID18: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID15: Final = re.compile(r"[0-9]{15}")
_DIGITS: Final = re.compile(r"[0-9]+")
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS: Final = "10X98765432"
_MAX_ROUNDS: Final = 4


def _canonical(raw: str) -> str:
    if not isinstance(raw, str):
        raise TypeError("identifier must be a str")
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)
    return _SEPARATORS.sub("", raw)


def _id_check_char(first17: str) -> str:
    return _ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _id_round(value: str) -> str:
    value = _canonical(value).upper()
    if _ID15.fullmatch(value):
        # First-generation (15-digit) ID: GB 11643-1999 upgrades it by inserting the century "19" after the
        # 6-digit region code and appending the check character. Same person, same pseudonym.
        first17 = value[:6] + "19" + value[6:]
        value = first17 + _id_check_char(first17)
    return value


def normalise_id_number(raw: str) -> str:
    """The canonical form of a resident ID number (居民身份证号码); ``""`` if nothing is left.

    NFKC (full-width digits and ``Ｘ``), separators and whitespace removed, upper case (a trailing ``x`` becomes
    ``X``), and a 15-digit first-generation number upgraded to its 18-character form. Anything else (a
    passport number, a typo) is kept in that canonical form rather than rejected. Idempotent.
    """
    value = raw
    for _ in range(_MAX_ROUNDS):
        nxt = _id_round(value)
        if nxt == value:
            break
        value = nxt
    return value


def is_valid_id_number(raw: str) -> bool:
    """Whether ``raw`` normalises to 18 characters with a correct ISO 7064 MOD 11-2 check character."""
    value = normalise_id_number(raw)
    return _ID18.fullmatch(value) is not None and _id_check_char(value[:17]) == value[17]


def _phone_round(value: str) -> str:
    value = _canonical(value)
    international = False
    if value.startswith("+86"):
        value, international = value[3:], True
    elif value.startswith("+"):
        return (
            value  # a foreign number: keep its country code, it is a different number from any domestic one
        )
    elif value.startswith("0086"):
        value, international = value[4:], True
    elif len(value) == 13 and value.startswith("86") and _MOBILE.fullmatch(value, 2):
        value = value[2:]  # "86" dialled without "+" before a mobile number
    if len(value) == 12 and value.startswith("0") and _MOBILE.fullmatch(value, 1):
        value = value[1:]  # a trunk "0" dialled before a mobile number
    elif international and _DIGITS.fullmatch(value) and not _MOBILE.fullmatch(value) and value[0] != "0":
        value = "0" + value  # +86 10 1234 5678 is the landline 010 1234 5678
    return value


def normalise_phone(raw: str) -> str:
    """The canonical, domestic form of a phone number; ``""`` if nothing is left.

    Separators removed (spaces, dashes, brackets, dots; full-width ones too), the ``+86`` / ``0086`` / bare
    ``86`` country code removed, a trunk ``0`` before a mobile number removed, and a landline written
    internationally given back its trunk ``0``. So ``+86 138-1234-5678``, ``0086 13812345678`` and
    ``138 1234 5678`` are one number, as are ``+86 10 8888 6666`` and ``(010) 8888-6666``. Foreign numbers keep
    their ``+`` and country code; anything else is kept in canonical form. Idempotent.
    """
    value = raw
    for _ in range(_MAX_ROUNDS):
        nxt = _phone_round(value)
        if nxt == value:
            break
        value = nxt
    return value


def is_mobile(raw: str) -> bool:
    """Whether ``raw`` normalises to a mainland mobile number (11 digits, ``1[3-9]…``)."""
    return _MOBILE.fullmatch(normalise_phone(raw)) is not None


def normalise(kind: Kind, raw: str) -> str:
    """:func:`normalise_id_number` or :func:`normalise_phone`, by ``kind``."""
    if kind == "id_number":
        return normalise_id_number(raw)
    if kind == "phone":
        return normalise_phone(raw)
    raise ValueError("kind must be 'id_number' or 'phone'")


def _as_mapping(petitioner: PetitionerLike) -> Mapping[str, object]:
    if type(petitioner) is dict:  # the common case, without the slow ABC check
        return petitioner
    if isinstance(petitioner, BaseModel):
        return petitioner.model_dump(exclude_none=True)
    if not isinstance(petitioner, Mapping):
        raise TypeError("petitioner must be a pydantic model or a mapping")
    return petitioner


def _fields(petitioner: PetitionerLike) -> dict[str, str]:
    """The non-blank fields of a plaintext petitioner. Errors name fields, never values."""
    return _fields_of(_as_mapping(petitioner))


def _fields_of(petitioner: Mapping[str, object]) -> dict[str, str]:
    if not FIELDS.issuperset(petitioner.keys()):
        # The offending keys are not quoted: a malformed producer may have put a value where a key belongs.
        raise ValueError("petitioner has fields other than name, phone and id_number")
    out: dict[str, str] = {}
    for key, value in petitioner.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(f"petitioner field {key} must be a str or None")
        if value.strip():
            out[key] = value
    return out


def _identity_of_fields(fields: Mapping[str, str]) -> tuple[Kind, str] | None:
    for kind in KINDS:
        raw = fields.get(kind)
        if raw is not None and (value := normalise(kind, raw)):
            return kind, value
    return None


def identity(petitioner: PetitionerLike) -> tuple[Kind, str] | None:
    """``(kind, normalised value)`` of the identifier that defines the person: the ID number if present, else
    the phone number; ``None`` when there is neither (a name alone identifies nobody)."""
    return _identity_of_fields(_fields(petitioner))


def person_ref(petitioner: PetitionerLike) -> str | None:
    """:func:`identity` as one string, ``"id_number:<value>"`` or ``"phone:<value>"``; ``None`` for nobody.

    The result **is personal data** (it is the normalised identifier): use it transiently, never store or log
    it. What gets stored is :meth:`Pseudonymizer.person`.
    """
    ident = identity(petitioner)
    return None if ident is None else f"{ident[0]}:{ident[1]}"


def is_linkable(person: str) -> bool:
    """Whether a person id is a pseudonym derived from an identifier (``p_``), as opposed to the random
    ``a_`` id of a name-only petitioner. Repeat counts only make sense for linkable persons."""
    return person.startswith("p_")


# --- pseudonyms ---------------------------------------------------------------------------------------
class Pseudonymizer:
    """Keyed, stable pseudonyms of identifiers: ``p_`` + 32 hex digits (128 bits of HMAC-SHA256).

    ``key`` must be at least 32 random bytes and kept secret; see the module docstring on rotation.
    """

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError("the pseudonym key must be bytes")
        if len(key) < MIN_PSEUDONYM_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
        # The label is absorbed once; each pseudonym copies this state (cheaper than a fresh HMAC).
        self._mac = hmac.new(bytes(key), _PSEUDONYM_LABEL, hashlib.sha256)

    def __repr__(self) -> str:
        return "<Pseudonymizer>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("a Pseudonymizer holds a secret key and cannot be pickled")

    def pseudonym(self, kind: Kind, value: str) -> str:
        """The pseudonym of one identifier. ``value`` is normalised again here (normalisation is idempotent),
        so passing a raw spelling is safe. Raises ``ValueError`` for an unknown kind or an empty value."""
        if kind not in KINDS:
            raise ValueError("kind must be 'id_number' or 'phone'")
        value = normalise(kind, value)
        if not value:
            raise ValueError("cannot pseudonymise an empty identifier")
        return self._pseudonym(kind, value)

    def _pseudonym(self, kind: Kind, normalised: str) -> str:
        mac = self._mac.copy()
        mac.update(kind.encode("ascii") + b"\x00" + normalised.encode("utf-8"))
        return "p_" + mac.digest()[:16].hex()

    def person(self, petitioner: PetitionerLike) -> str | None:
        """The pseudonym of the identifier that defines the person (:func:`identity`), or ``None``."""
        ident = identity(petitioner)
        return None if ident is None else self._pseudonym(*ident)

    def pseudonyms(self, petitioner: PetitionerLike) -> dict[Kind, str]:
        """The pseudonym of every identifier the petitioner carries, by kind (empty for a name only)."""
        fields = _fields(petitioner)
        out: dict[Kind, str] = {}
        for kind in KINDS:
            raw = fields.get(kind)
            if raw is not None and (value := normalise(kind, raw)):
                out[kind] = self._pseudonym(kind, value)
        return out


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

    # --- sealing -------------------------------------------------------------------------------------
    def seal(self, petitioner: PetitionerLike) -> Sealed | None:
        """The sealed form of a petitioner; ``None`` if it has no non-blank field (nothing to protect).

        An already sealed value is returned unchanged (as a new dict). A forgotten person yields the erased
        form. Raises ``ValueError``/``TypeError`` for a petitioner with unknown fields or non-string values.
        """
        return self.seal_many([petitioner])[0]

    def seal_many(self, petitioners: Sequence[PetitionerLike | None]) -> list[Sealed | None]:
        """:meth:`seal` for a batch, in order, with one key-store round trip. ``None`` entries stay ``None``."""
        out: list[Sealed | None] = [None] * len(petitioners)
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
                if ident is None:
                    person = "a_" + secrets.token_hex(16)  # unlinkable: never memoised
                else:
                    person = memo[memo_key] = pseudonymizer._pseudonym(*ident)
            todo.append((i, person, _encode(fields)))
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
