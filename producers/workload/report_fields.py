"""The fields the reports read (issue 19), drawn for the demo's cases: applicant types and disclosure outcomes,
petition headcounts, 越级访 and co-petitioners, legal limits of service-centre matters, 并联审批 and 协办
departments, the seeds' other channels (12315, a bureau line, 效能投诉), 咨询 categories and the 特急
(emergency) tier.

Each draw comes from its own generator seeded by the case (a CRC of a key the caller passes), never from the
simulation's shared stream, so adding these fields changed no other value of a seeded run.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, Final

from producers.workload import data as W

_APPLICANTS: Final = (
    ("natural_person", 0.76), ("commercial_enterprise", 0.11), ("research_institution", 0.03),
    ("social_welfare_org", 0.03), ("legal_service_org", 0.04), ("other_org", 0.03),
)  # fmt: skip
#: the generator's outcome -> the national report's categories it is answered with, weighted
_DISCLOSURE: Final[dict[str, tuple[tuple[dict[str, str], float], ...]]] = {
    "resolved": (({"outcome": "disclosed"}, 0.8), ({"outcome": "partially_disclosed"}, 0.2)),
    "explained": (
        ({"outcome": "not_disclosed", "reason": "third_party_rights"}, 0.25),
        ({"outcome": "not_disclosed", "reason": "process_information"}, 0.2),
        ({"outcome": "not_disclosed", "reason": "internal_affairs"}, 0.1),
        ({"outcome": "not_disclosed", "reason": "state_secret"}, 0.05),
        ({"outcome": "not_processed", "reason": "petition_complaint"}, 0.2),
        ({"outcome": "not_processed", "reason": "publication"}, 0.1),
        ({"outcome": "other", "reason": "other"}, 0.1),
    ),
    "not_resolvable": (
        ({"outcome": "unable_to_provide", "reason": "not_held"}, 0.6),
        ({"outcome": "unable_to_provide", "reason": "needs_creation"}, 0.3),
        ({"outcome": "unable_to_provide", "reason": "unclear_after_correction"}, 0.1),
    ),
    "referred": (
        ({"outcome": "unable_to_provide", "reason": "not_held"}, 0.7),
        ({"outcome": "not_processed", "reason": "repeated"}, 0.3),
    ),
}
_LEGAL: Final = {item: legal for item, _, legal, _ in W.SERVICE_ITEMS}
_PARALLEL: Final = (
    "市市场监管局",
    "市自然资源和规划局",
    "市住房和城乡建设局",
    "市生态环境局",
    "市消防救援支队",
)


def _rng(key: str) -> random.Random:
    return random.Random(zlib.crc32(key.encode("utf-8")))


def _weighted(rng: random.Random, options: Any) -> Any:
    x, acc = rng.random() * sum(w for _, w in options), 0.0
    for value, w in options:
        acc += w
        if x < acc:
            return value
    return options[-1][0]


def _co_petitioner(rng: random.Random) -> dict[str, str]:
    name = rng.choice(W.SURNAMES) + rng.choice(W.GIVEN_MALE + W.GIVEN_FEMALE)
    return {"name": name, "phone": rng.choice(W.PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"}


def received_fields(channel: str, case_id: str, category: str, has_petitioner: bool) -> dict[str, Any]:
    """Extra ``case.received`` fields of a new case (empty for channels without any)."""
    rng = _rng(case_id)
    out: dict[str, Any] = {}
    if channel == "disclosure_request":
        out["applicant_type"] = _weighted(rng, _APPLICANTS)
    elif channel == "service_center" and category in _LEGAL:
        out["legal_time_limit_days"] = _LEGAL[category]
    elif channel in ("visit", "letter", "online_petition"):
        if channel == "visit" and rng.random() < 0.08:  # 集体访: a group of 5 to 40
            out["headcount"] = 5 + int(rng.random() ** 2 * 36)
        elif has_petitioner and rng.random() < 0.06:  # a couple or a family signs together
            out["co_petitioners"] = [_co_petitioner(rng) for _ in range(1 + (rng.random() < 0.3))]
        if channel != "online_petition" and rng.random() < 0.04:
            out["skip_level"] = True  # 越级访
    return out


#: 12345 orders the demo files under the seeds' other channels: (channel, share, categories or None)
_OTHER_CHANNELS: Final = (
    ("hotline_12315", 0.05, (("投诉", 0.6), ("咨询", 0.25), ("举报", 0.15))),
    ("bureau_hotline", 0.02, None),
    ("efficiency_complaint", 0.01, (("效能投诉", 1.0),)),
)
_EMERGENCY_CHANNELS: Final = frozenset({"hotline_12345", "hotline_12319", "city_management"})
#: channels whose assignments sometimes name co-handling departments (协办)
_CO_HANDLED: Final = frozenset(
    {
        "hotline_12345",
        "hotline_12319",
        "mayor_mailbox",
        "city_management",
        "letter",
        "visit",
        "online_petition",
    }
)


def intake_fields(channel: str, case_id: str, urgency: str | None) -> dict[str, Any]:
    """``case.received`` overrides of a new case: a 12345 order filed under another channel (and its
    category), a 12345 consultation (咨询), an urgent order that is an emergency (特急, a 24-hour limit)."""
    rng = _rng("intake/" + case_id)
    out: dict[str, Any] = {}
    if channel == "hotline_12345":
        x, acc = rng.random(), 0.0
        for name, share, categories in _OTHER_CHANNELS:
            acc += share
            if x < acc:
                out["channel"] = name
                if categories:
                    out["category"] = _weighted(rng, categories)
                break
        else:
            if rng.random() < 0.06:
                out["category"] = "咨询"
    if urgency == "urgent" and channel in _EMERGENCY_CHANNELS and rng.random() < 0.3:
        out["urgency"] = "emergency"
    return out


def co_departments(channel: str, key: str, lead: str, pool: tuple[str, ...] = ()) -> list[str] | None:
    """The other departments of a 并联审批 service-centre application (about one in ten), or the co-handlers
    (协办) of some other cases' assignments (about one in twelve, from ``pool``), else ``None``."""
    if channel in _CO_HANDLED and pool:
        rng = _rng("co/" + key)
        if rng.random() >= 0.08:
            return None
        return [d for d in rng.sample(pool, 1 + (rng.random() < 0.3)) if d != lead] or None
    if channel != "service_center":
        return None
    rng = _rng(key)
    if rng.random() >= 0.1:
        return None
    return [d for d in rng.sample(_PARALLEL, 1 + (rng.random() < 0.4)) if d != lead] or None


def disclosure_result(outcome: str, key: str) -> dict[str, str]:
    """The national report's category of a disclosure request answered with the generator's ``outcome``."""
    return dict(_weighted(_rng(key), _DISCLOSURE[outcome]))
