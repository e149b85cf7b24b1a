"""Petitioners' identifiers (个人信息): normalisation and keyed pseudonyms. Pure; no I/O.

The person is the ID number, else the phone number, else an unlinkable ``a_`` person; pseudonyms are
HMAC-SHA256 under a secret key that must never rotate. Details and trade-offs: docs/personal-data.md
("Normalisation and pseudonyms").
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Final, Literal

from pydantic import BaseModel

__all__ = [
    "FIELDS",
    "KINDS",
    "MIN_PSEUDONYM_KEY_BYTES",
    "Kind",
    "PetitionerLike",
    "Pseudonymizer",
    "identity",
    "is_linkable",
    "is_mobile",
    "is_valid_id_number",
    "normalise",
    "normalise_id_number",
    "normalise_phone",
    "person_ref",
]

Kind = Literal["id_number", "phone"]
KINDS: Final[tuple[Kind, ...]] = ("id_number", "phone")
FIELDS: Final = frozenset({"name", "phone", "id_number"})
MIN_PSEUDONYM_KEY_BYTES: Final = 32

#: A petitioner as the sealer accepts it: an :class:`events.data.Petitioner` or ``SealedPetitioner`` model, or
#: the equivalent mapping (plaintext ``name``/``phone``/``id_number``, or a sealed form).
PetitionerLike = BaseModel | Mapping[str, object]

_PSEUDONYM_LABEL: Final = b"casetrack/pseudonym/v1\x00"

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
    return _fixed_point(_id_round, raw)


def _fixed_point(step: Callable[[str], str], value: str) -> str:
    # Normalising repeatedly until nothing changes makes each normaliser idempotent by construction.
    for _ in range(_MAX_ROUNDS):
        nxt = step(value)
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
    return _fixed_point(_phone_round, raw)


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

    def of_value(self, kind: str, normalised: str) -> str:
        """The pseudonym of a value found in free text (:mod:`privacy.text_pii`), by its kind. For ``phone`` and
        ``id_number`` it is the same pseudonym a petitioner with that identifier gets, so ``casetrack forget
        --phone`` reaches the number wherever it was written; other kinds (``email``, ``plate``, ``bank_card``)
        are domain-separated the same way. ``normalised`` must already be in canonical form."""
        if not kind or "\x00" in kind or not normalised:
            raise ValueError("cannot pseudonymise an empty value")
        mac = self._mac.copy()
        mac.update(kind.encode("ascii") + b"\x00" + normalised.encode("utf-8"))
        return "p_" + mac.digest()[:16].hex()

    def anonymous(self, anchor: str) -> str:
        """The unlinkable ``a_`` person of a name-only petitioner, derived from ``anchor`` (the event id).

        Deterministic, so re-sealing the same event (a redelivery, a replay from Kafka) finds the same key
        and, once that person is forgotten, the same tombstone; unlinkable, because distinct events get
        distinct ids whoever the petitioner is."""
        if not isinstance(anchor, str) or not anchor:
            raise ValueError("the anchor of an anonymous person must be a non-empty str")
        mac = self._mac.copy()
        mac.update(b"anonymous\x00" + anchor.encode("utf-8"))
        return "a_" + mac.digest()[:16].hex()

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
