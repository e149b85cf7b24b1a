"""Personal data written into free text (个人信息 in summaries, replies, reasons, notes): the detector. Pure.

:func:`find` returns the spans that identify someone (phones, ID numbers, bank cards, e-mail, plates, the
petitioner's own name), cheaply ruling out most texts with one scan. What is found, the near misses left
alone and the cost: docs/personal-data.md ("The free-text detector").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers
from stdnum import luhn

from privacy.pseudonyms import is_valid_id_number, normalise_id_number

__all__ = ["KINDS", "LABELS", "Known", "Span", "TextKind", "find", "might_hold", "normalise_value"]

TextKind = Literal["phone", "id_number", "bank_card", "email", "plate", "name"]
KINDS: Final[tuple[TextKind, ...]] = ("phone", "id_number", "bank_card", "email", "plate", "name")
#: The label a placeholder shows for each kind: ``[电话#1a2b3c4d]``.
LABELS: Final[dict[str, str]] = {
    "phone": "电话",
    "id_number": "身份证",
    "bank_card": "银行卡",
    "email": "邮箱",
    "plate": "车牌",
    "name": "姓名",
}

# Something worth a closer look: seven digits in a row (separators allowed), an at sign, or the letters and
# digits of a plate. Ordinary texts (dates, amounts, 12345) fail it in one scan.
_TRIGGER: Final = re.compile(
    r"\d[\d \-－—)）]{5,}\d|[@＠]|[A-HJ-NP-Z][·•・ ]?[0-9A-Z]{5}|[零〇幺一二两三四五六七八九]{7}"
)
_PROVINCES: Final = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CANDIDATES: Final = re.compile(
    r"(?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,})"
    r"|(?P<spoken>(?<![零〇幺一二两三四五六七八九])[幺一][三四五六七八九][零〇幺一二两三四五六七八九]{9}"
    r"(?![零〇幺一二两三四五六七八九]))"
    rf"|(?P<plate>[{_PROVINCES}][A-HJ-NP-Z][·•・ ]?[A-HJ-NP-Z0-9]{{5,6}}(?![A-Za-z0-9]))"
    r"|(?<![\dA-Za-z#\-.])(?P<cc>(?:[+＋] ?86|0086)[ \-]?)?"
    r"(?P<number>(?:[(（]\d+[)）][ \-]?)?\d+(?:[ \-－—]\d+)*[XxＸｘ]?)(?![\dA-Za-z])"
)
_GROUPS: Final = re.compile(r"\d+[XxＸｘ]?")
_MOBILE: Final = re.compile(r"1[3-9]\d{9}")
# An order keyword counts only right before the number ("工单号13812345678", "订单号: 2026…"): a word such as
# 合同 further back ("劳动合同纠纷, 电话…") says nothing about the number.
_ORDER_WORDS: Final = re.compile(
    r"(?:单号|编号|工单|订单|案号|流水号?|文号|件号|批次号?|序号|运单|快递|发票号?|合同号|[Nn][Oo]\.?)"
    r"(?:码|号码)?[:：\s#]*$"
)
_PHONE_WORDS: Final = re.compile(r"电话|手机|联系|致电|拨打|座机|号码|[Tt][Ee][Ll]")
_CONTEXT: Final = 8
_SPOKEN: Final = str.maketrans("零〇幺一二两三四五六七八九", "0011223456789")
_FULLWIDTH: Final = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")


@dataclass(frozen=True, slots=True)
class Span:
    """One piece of personal data in a text: ``text[start:end]``, its kind and its normalised value."""

    start: int
    end: int
    kind: TextKind
    value: str

    def __repr__(self) -> str:  # the value is personal data: never in a repr that could reach a log
        return f"Span({self.start}, {self.end}, {self.kind!r})"


@dataclass(frozen=True, slots=True)
class Known:
    """The petitioner of the case the text belongs to: a name to find, and identifiers (as the petitioner field
    spells them; normalised only when compared) that make a phone or ID number found in the text *theirs*
    (sealed under their key rather than its own)."""

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None

    def __repr__(self) -> str:
        return "Known(...)"


def find(text: str, known: Known | None = None) -> list[Span]:
    """The personal data in ``text``, in order, without overlaps. See the module docstring."""
    name = known.name if known is not None else None
    spans: list[Span] = []
    if name and len(name) >= 2 and name in text:
        start = text.find(name)
        while start >= 0:
            spans.append(Span(start, start + len(name), "name", name))
            start = text.find(name, start + len(name))
    if _TRIGGER.search(text) is not None:
        spans.extend(_patterns(text))
        if len(spans) > 1:
            spans = _without_overlaps(spans)
    return spans


def might_hold(text: str) -> bool:
    """Whether ``text`` may hold personal data other than a known name (the detector's cheap first test)."""
    return _TRIGGER.search(text) is not None


def normalise_value(kind: TextKind, raw: str) -> str:
    """The canonical form the pseudonym of a found value is computed from."""
    raw = raw.translate(_FULLWIDTH)
    if kind == "email":
        return raw.replace("＠", "@").lower()
    if kind == "plate":
        return re.sub(r"[·•・ ]", "", raw).upper()
    if kind == "id_number":
        return normalise_id_number(raw)
    if kind == "name":
        return raw
    return re.sub(r"\D", "", raw)


def _patterns(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _CANDIDATES.finditer(text):
        if m.lastgroup == "email":
            out.append(Span(m.start(), m.end(), "email", normalise_value("email", m.group())))
        elif m.lastgroup == "spoken":  # a mobile number typed in Chinese numerals (幺三九…)
            out.append(Span(m.start(), m.end(), "phone", m.group().translate(_SPOKEN)))
        elif m.lastgroup == "plate":
            if any(c.isdigit() for c in m.group()):
                out.append(Span(m.start(), m.end(), "plate", normalise_value("plate", m.group())))
        elif len(m.group("number")) >= 7:  # fewer characters cannot hold seven digits
            out.extend(_numbers(text, m))
    return out


def _numbers(text: str, m: re.Match[str]) -> list[Span]:
    """The numbers in one run of digit groups. The run may join two numbers ("139-8765-4321 2026"), so the
    longest leading groups that classify win, then the search goes on after them."""
    start = m.start("number")
    groups = [(g.start() + start, g.end() + start) for g in _GROUPS.finditer(m.group("number"))]
    has_cc = m.group("cc") is not None
    out: list[Span] = []
    i = 0
    while i < len(groups):
        hit: tuple[int, Span] | None = None
        for j in range(len(groups), i, -1):
            raw = "".join(text[a:b] for a, b in groups[i:j]).translate(_FULLWIDTH)
            if len(raw) < 7:
                break
            begin = m.start() if i == 0 else groups[i][0]  # with its +86 and bracket
            whole = i == 0 and j == len(groups)
            found = _classify(raw, has_cc and i == 0, whole, text[max(0, begin - _CONTEXT) : begin])
            if found is not None:
                hit = (j, Span(begin, groups[j - 1][1], found[0], found[1]))
                break
        if hit is None:
            i += 1
        else:
            i = hit[0]
            out.append(hit[1])
    return out


def _classify(raw: str, has_cc: bool, whole: bool, before: str) -> tuple[TextKind, str] | None:
    """``(kind, normalised value)`` of a digit string (an ``X`` may end it), or ``None``. ``whole``: the
    string is the whole run of digit groups (a local number is only taken alone, never cut from a run)."""
    if _ORDER_WORDS.search(before) is not None:
        return None
    n = len(raw)
    if raw[-1] == "X":
        return ("id_number", raw) if n == 18 and _is_id(raw) else None
    if n == 18 and _is_id(raw):
        return "id_number", raw
    if n == 15 and "身份证" in before and _birth_ok(raw[6:12], century="19"):
        return "id_number", normalise_id_number(raw)
    if n == 11 and _MOBILE.fullmatch(raw):
        return "phone", raw
    if has_cc and 9 <= n <= 11 and raw[0] != "0":  # not a mobile (taken above)
        raw, n = "0" + raw, n + 1  # +86 10 8888 6666 is the landline 010 8888 6666
    if raw[0] == "0" and 10 <= n <= 12 and _is_landline(raw):
        return "phone", raw
    if has_cc:
        return None
    if whole and 7 <= n <= 8 and raw[0] not in "01" and _PHONE_WORDS.search(before) is not None:
        return "phone", raw  # a local number without its area code, where the text says it is a phone
    if 16 <= n <= 19 and raw[0] in "3456" and luhn.is_valid(raw):
        return "bank_card", raw
    return None


def _is_id(raw: str) -> bool:
    return is_valid_id_number(raw) and _birth_ok(raw[6:14])


def _birth_ok(digits: str, century: str = "") -> bool:
    """A real birth date (YYYYMMDD, or YYMMDD in a 15-digit number) between 1900 and today."""
    digits = century + digits
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def _is_landline(raw: str) -> bool:
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return phonenumbers.is_valid_number(number) and kind in (
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _without_overlaps(spans: list[Span]) -> list[Span]:
    spans.sort(key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    for s in spans:
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out
