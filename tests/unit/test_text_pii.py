"""The free-text detector (privacy/text_pii.py): each kind in the spellings people use, the near misses it must
leave alone, and its precision and recall on the realistic texts of producers/workload/texts.py."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from privacy.text_pii import Known, find
from producers.workload.texts import labelled_text, with_personal_data

NAME = "欧阳震华"
ID = "11010519491231002X"


def found(text: str, known: Known | None = None) -> list[tuple[str, str, str]]:
    """(what was written, kind, normalised value) of every span."""
    return [(text[s.start : s.end], s.kind, s.value) for s in find(text, known)]


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("13987654321", "13987654321"),
        ("139 8765 4321", "13987654321"),
        ("139-8765-4321", "13987654321"),
        ("+86 139 8765 4321", "13987654321"),
        ("+86-13987654321", "13987654321"),
        ("0086 13987654321", "13987654321"),
        ("１３９８７６５４３２１", "13987654321"),
        ("幺三九八七六五四三二幺", "13987654321"),
        ("010-88886666", "01088886666"),
        ("(0311) 8555 1234", "031185551234"),
        ("+86 10 8888 6666", "01088886666"),
        ("+86 311 8555 1234", "031185551234"),
    ],
)
def test_phone_numbers_in_their_usual_spellings(written: str, normalised: str) -> None:
    assert found(f"欠薪三个月,联系电话{written},请处理") == [(written, "phone", normalised)]


def test_a_local_number_needs_a_phone_word_and_must_stand_alone() -> None:
    assert found("座机 8556 1234。") == [("8556 1234", "phone", "85561234")]
    assert found("共计 8556 1234 元") == []  # no phone word before it
    assert found("客服电话400-609-9554") == []  # a service number, not a cut-out local number


def test_id_numbers_need_their_check_character_and_a_birth_date() -> None:
    assert found(f"身份证{ID}") == [(ID, "id_number", ID)]
    assert found(f"身份证{ID.lower()}") == [(ID.lower(), "id_number", ID)]
    assert found("身份证 110105 19491231 002X") == [("110105 19491231 002X", "id_number", ID)]
    assert found("身份证号110105491231002") == [("110105491231002", "id_number", ID)]  # 15-digit, upgraded
    assert found("流水号110105194912310021") == []  # an order keyword
    assert found("批量号 110105194912310023 已入库") == []  # wrong check digit
    assert found("号码 110105209912310028") == []  # born in 2099: an order number, not a person


def test_bank_cards_pass_luhn_and_start_like_a_card() -> None:
    assert found("工资卡 6222 0212 3456 7890 128") == [
        ("6222 0212 3456 7890 128", "bank_card", "6222021234567890128")
    ]
    assert found("工资卡 6222 0212 3456 7890 127") == []  # Luhn fails
    assert found("订单 2026120300012349") == []


def test_email_and_plates() -> None:
    assert found("邮箱 Zhang.San@163.com 或 12345678@qq.com") == [
        ("Zhang.San@163.com", "email", "zhang.san@163.com"),
        ("12345678@qq.com", "email", "12345678@qq.com"),
    ]
    assert found("车牌京A·12345,新能源冀AD12345,京N 8B2C1") == [
        ("京A·12345", "plate", "京A12345"),
        ("冀AD12345", "plate", "冀AD12345"),
        ("京N 8B2C1", "plate", "京N8B2C1"),
    ]
    assert found("北京ABCDE公司") == []  # letters only: no plate


def test_the_petitioners_name_and_identifiers() -> None:
    known = Known(name=NAME, phone="13987654321")
    text = f"{NAME}反映欠薪,{NAME}称电话139 8765 4321"
    assert [k for _, k, _ in found(text, known)] == ["name", "name", "phone"]
    assert found("张先生反映欠薪", Known(name="张")) == []  # a one-character name is not searched


@pytest.mark.parametrize(
    "text",
    [
        "工单号13812345678已转办",  # a phone-like order number after its keyword
        "订单号 2026120300012345",
        "编号HX2026120300123",  # glued to letters
        "2026-12-03 上午",
        "2026年12月3日",
        "金额1200000元",
        "已拨打12345热线",
        "案号(2026)冀01民初5996号",
        "[电话#12345678] 已联系",  # a placeholder written by the sealer
        "快递单号SF1234567890123",
    ],
)
def test_near_misses_are_left_alone(text: str) -> None:
    assert found(text) == []


def test_spans_never_show_their_value() -> None:
    (span,) = find("电话13987654321")
    assert "13987654321" not in repr(span) and "欧阳" not in repr(Known(name=NAME))


def score(n: int, seed: int) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """True positives, false positives and false negatives by kind, over ``n`` generated texts."""
    rnd = random.Random(seed)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for i in range(n):
        name = NAME if i % 2 else "张伟"
        labelled = labelled_text(rnd, name)
        got: set[tuple[int, int, str]] = {
            (s.start, s.end, s.kind) for s in find(labelled.text, Known(name=name))
        }
        truth = set(labelled.truth)
        for _, _, kind in got & truth:
            tp[kind] += 1
        for _, _, kind in got - truth:
            fp[kind] += 1
        for _, _, kind in truth - got:
            fn[kind] += 1
    return tp, fp, fn


def test_precision_and_recall_on_realistic_texts() -> None:
    """The figures in docs/personal-data.md (python -m bench.text_pii prints them with the cost)."""
    tp, fp, fn = score(3000, seed=20261204)
    precision = sum(tp.values()) / (sum(tp.values()) + sum(fp.values()))
    recall = sum(tp.values()) / (sum(tp.values()) + sum(fn.values()))
    assert precision > 0.95 and recall > 0.95
    # Every kind the detector claims is found in every form the generator writes, except third parties'
    # names (no NLP: they are the only misses), and the only false alarms are article numbers that look
    # like mobile numbers with no keyword before them.
    assert set(fn) == {"name"} and tp["name"] > 0
    assert set(fp) == {"phone"}
    for kind in ("phone", "id_number", "bank_card", "email", "plate"):
        assert tp[kind] > 200, kind


def test_the_workload_hook_is_deterministic_and_keeps_most_summaries() -> None:
    person = {"name": NAME, "phone": "13987654321", "id_number": ID}
    changed = [with_personal_data(f"C{i}", "来电反映", person) for i in range(400)]
    assert changed == [with_personal_data(f"C{i}", "来电反映", person) for i in range(400)]
    share = sum(text != "来电反映" for text in changed) / len(changed)
    assert 0.18 < share < 0.32  # SHARE_IN_SUMMARY = 0.25
    assert with_personal_data("C1", "来电反映", None) == "来电反映"
    known = Known(name=NAME, phone="13987654321", id_number=ID)
    assert all(find(text, known) for text in changed if text != "来电反映")
