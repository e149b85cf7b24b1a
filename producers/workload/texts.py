"""Realistic complaint texts with personal data written into them, and the near misses that must stay.

Citizens write their phone numbers, ID numbers, addresses and names into what they report ("欠薪, 联系
139xxxxxxxx"), and officers copy them into replies and notes. :func:`labelled_text` builds such a text with
the truth about it: each embedded value with its kind and its exact place, in the spellings people use
(spaces, dashes, ``+86``, brackets, full-width digits, a lower-case ``x``), beside numbers that only look
like personal data (order and case numbers, dates, amounts, 400 numbers, a phone-like order number). The
detector's precision and recall are measured on these (tests/unit/test_text_pii.py, docs/personal-data.md).

:func:`with_personal_data` is the workload generator's hook: a share of the petitioners also write their
contact data into the summary. It draws from its own ``random.Random(case id)``, so the rest of the
workload's random stream (and every figure derived from it) is unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from producers.workload import data as W

__all__ = ["Labelled", "labelled_text", "with_personal_data"]

#: share of the petitioners who also write contact data into their summary (the workload hook)
SHARE_IN_SUMMARY: Final = 0.25

_FULLWIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")
_PROBLEMS: Final = (
    "拖欠工资三个月未发放", "小区电梯长期故障无人维修", "楼上装修噪音扰民", "物业违规收取停车费",
    "房屋漏水多次反映未解决", "商家拒绝退还预付卡余额", "路灯损坏夜间出行不便", "占道经营影响通行",
    "供暖温度不达标", "违规收取学校补课费", "医保报销迟迟未到账", "拆迁补偿款未按约定支付",
    "劳动合同纠纷", "购房合同退款纠纷", "商家拒开发票", "快递丢件理赔难",
)  # fmt: skip
_CONTACT: Final = ("联系电话{}", "我的手机{}", "请致电{}", "电话:{}", "联系方式 {}", "有事打{}")
_ID: Final = ("身份证号{}", "本人身份证{}", "身份证号码:{}")
_CARD: Final = ("工资卡号{}", "银行卡 {}", "退款请打到卡号{}")
_EMAIL: Final = ("邮箱{}", "回复请发邮件至 {}", "E-mail: {}")
_PLATE: Final = ("车牌号{}", "肇事车辆{}", "车牌 {}")
_NAME: Final = ("我叫{},", "{}反映:", "本人{},", "来电人{}称")
_MAIL_HOSTS: Final = ("163.com", "qq.com", "126.com", "sina.com", "gmail.com")
_PINYIN: Final = ("zhangwei", "li.na", "wangfang", "liuyang_88", "chenjing", "zhao.lei")
_PROVINCES: Final = "冀京津晋蒙辽鲁豫"
_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"
#: what a text may hold: each kind of personal data, near misses (twice as likely) and a hard case (rare)
_PIECES: Final = ("mobile", "landline", "id", "card", "email", "plate", "near", "near", "mobile", "hard")
_AREAS: Final = ("010", "021", "022", "0311", "0371", "0531", "0512", "0755")  # 8-digit local numbers


@dataclass(frozen=True, slots=True)
class Labelled:
    """A text and the truth about it: ``(start, end, kind)`` of every piece of personal data in it."""

    text: str
    truth: tuple[tuple[int, int, str], ...]


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.truth: list[tuple[int, int, str]] = []
        self.length = 0

    def add(self, text: str, kind: str | None = None) -> None:
        if kind is not None:
            self.truth.append((self.length, self.length + len(text), kind))
        self.parts.append(text)
        self.length += len(text)

    def framed(self, template: str, value: str, kind: str) -> None:
        before, after = template.split("{}")
        self.add(before)
        self.add(value, kind)
        self.add(after)


def mobile(rnd: random.Random) -> str:
    return rnd.choice(W.PHONE_PREFIXES) + f"{rnd.randrange(100_000_000):08d}"


def _spell_mobile(rnd: random.Random, number: str) -> str:
    a, b, c = number[:3], number[3:7], number[7:]
    form = rnd.randrange(8)
    spelled = (
        number, f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86 {a} {b} {c}", f"+86-{number}", f"0086 {number}",
        number.translate(_FULLWIDTH), f"{a}{b} {c}",
    )[form]  # fmt: skip
    return spelled


def _landline(rnd: random.Random) -> str:
    area = rnd.choice(_AREAS)
    local = f"{rnd.randrange(2, 9)}{rnd.randrange(10_000_000):07d}"
    form = rnd.randrange(4)
    if form == 0:
        return f"{area}-{local}"
    if form == 1:
        return f"({area}) {local[:4]} {local[4:]}"
    if form == 2:
        return f"+86 {area[1:]} {local[:4]} {local[4:]}"
    return f"{area} {local}"


def id_number(rnd: random.Random) -> str:
    region = rnd.choice(W.REGIONS)[1]
    first17 = f"{region}{rnd.randrange(1950, 2005)}{rnd.randrange(1, 13):02d}{rnd.randrange(1, 29):02d}"
    first17 += f"{rnd.randrange(1000):03d}"
    value = first17 + W.id_check_digit(first17)
    return value.lower() if value[-1] == "X" and rnd.random() < 0.5 else value


def bank_card(rnd: random.Random, prefix: str = "62") -> str:
    """A card number of 16 or 19 digits (UnionPay debit cards are often 19) with its Luhn check digit."""
    length = rnd.choice((16, 19))
    body = prefix + "".join(str(rnd.randrange(10)) for _ in range(length - 1 - len(prefix)))
    return body + _luhn_digit(body)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str(-total % 10)


def _plate(rnd: random.Random) -> str:
    head = rnd.choice(_PROVINCES) + rnd.choice(_LETTERS)
    if rnd.random() < 0.3:  # new-energy plate: D or F and five digits
        return head + rnd.choice("DF") + f"{rnd.randrange(100_000):05d}"
    tail = f"{rnd.randrange(1000):03d}" + "".join(rnd.choice(_LETTERS + "0123456789") for _ in range(2))
    return head + rnd.choice(("", "·", " ")) + tail


def _near_miss(rnd: random.Random) -> str:
    """Numbers that are not personal data: they must survive detection unchanged."""
    return rnd.choice(
        (
            f"工单号{mobile(rnd)}",  # an order number that looks like a mobile number
            f"订单号 {bank_card(rnd, '2')}",
            f"编号HX2026{rnd.randrange(10**8):08d}",
            f"案号(2026)冀01民初{rnd.randrange(1, 9999)}号",
            f"{rnd.randrange(2020, 2027)}-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}",
            f"{rnd.randrange(2020, 2027)}年{rnd.randrange(1, 13)}月{rnd.randrange(1, 29)}日",
            f"金额{rnd.randrange(1000, 2_000_000)}元",
            f"共{rnd.randrange(2, 60)}户",
            "已拨打12345热线",
            f"客服电话400-{rnd.randrange(100, 999)}-{rnd.randrange(1000, 9999)}",
            f"流水号{rnd.randrange(10**17, 10**18)}",
            f"快递单号SF{rnd.randrange(10**12, 10**13)}",
        )
    )


def _hard(b: _Builder, rnd: random.Random) -> None:
    form = rnd.randrange(3)
    if form == 0:  # a number read out and typed in Chinese numerals by a hotline operator
        spoken = mobile(rnd).translate(str.maketrans("0123456789", "零幺二三四五六七八九"))
        b.framed(rnd.choice(_CONTACT), spoken, "phone")
    elif form == 1:  # a third party's name: nothing says it is a name without NLP
        given = rnd.choice(W.GIVEN_MALE) + rnd.choice(W.GIVEN_FEMALE)
        b.framed("邻居{}多次", rnd.choice(W.SURNAMES) + given, "name")
    else:  # an article number that looks like a mobile number, without an order keyword before it
        b.add(f"货品{mobile(rnd)}")


def labelled_text(rnd: random.Random, name: str | None = None) -> Labelled:
    """A complaint text with 0-4 pieces of personal data and 0-2 near misses, and where each piece is."""
    b = _Builder()
    if name and rnd.random() < 0.5:
        b.framed(rnd.choice(_NAME), name, "name")
    b.add(rnd.choice(W.ESTATES) + rnd.choice(_PROBLEMS) + ",")
    pieces = rnd.sample(_PIECES, rnd.randrange(5))
    for piece in pieces:
        if piece == "mobile":
            b.framed(rnd.choice(_CONTACT), _spell_mobile(rnd, mobile(rnd)), "phone")
        elif piece == "landline":
            b.framed(rnd.choice(_CONTACT), _landline(rnd), "phone")
        elif piece == "id":
            b.framed(rnd.choice(_ID), id_number(rnd), "id_number")
        elif piece == "card":
            card = bank_card(rnd)
            spelled = (
                " ".join(card[i : i + 4] for i in range(0, len(card), 4)) if rnd.random() < 0.7 else card
            )
            b.framed(rnd.choice(_CARD), spelled, "bank_card")
        elif piece == "email":
            user = rnd.choice(_PINYIN) if rnd.random() < 0.6 else str(rnd.randrange(10**6, 10**10))
            b.framed(rnd.choice(_EMAIL), f"{user}@{rnd.choice(_MAIL_HOSTS)}", "email")
        elif piece == "plate":
            b.framed(rnd.choice(_PLATE), _plate(rnd), "plate")
        elif piece == "hard":  # forms the detector is known to miss or to mistake (see the docs)
            _hard(b, rnd)
        else:
            b.add(_near_miss(rnd))
        b.add(rnd.choice((",", "。", ";")))
    b.add("请尽快处理。")
    return Labelled("".join(b.parts), tuple(b.truth))


def with_personal_data(case_id: str, summary: str, petitioner: Mapping[str, str] | None) -> str:
    """The workload hook: for :data:`SHARE_IN_SUMMARY` of the petitioners, the summary also carries their name
    and phone (and sometimes their ID number) as people write them. Deterministic per case id."""
    if not petitioner:
        return summary
    rnd = random.Random(case_id)
    if rnd.random() >= SHARE_IN_SUMMARY:
        return summary
    out = summary
    if petitioner.get("name"):
        out = rnd.choice(_NAME).format(petitioner["name"]) + out
    if petitioner.get("phone"):
        out += "," + rnd.choice(_CONTACT).format(_spell_mobile(rnd, petitioner["phone"]))
    if petitioner.get("id_number") and rnd.random() < 0.3:
        out += "," + rnd.choice(_ID).format(petitioner["id_number"])
    if rnd.random() < 0.3:
        out += "," + _near_miss(rnd)
    return out
