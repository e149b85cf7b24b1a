"""Who turns to the city and about what: synthetic petitioners and callers, regions and case topics.

:class:`People` is the layer of the simulation that draws a new case's region, its topic (category, summary,
candidate departments) and its petitioner, with well-formed personal data (names, mobile numbers, resident ID
numbers with their check digit) so that the personal-data handling downstream meets realistic values. Repeat
petitioners come from bounded pools and the last cases of each channel are remembered, so repeats (重复件) and
supervision orders can point at real earlier cases. The proportions and name lists are in :mod:`.data`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from datetime import date, timedelta
from typing import Any, Final

from producers.workload import data as W
from producers.workload.base import SimBase, cumulative
from producers.workload.clock import Calendar
from producers.workload.config import GenerationStats, GeneratorConfig

#: a recent case, for repeats: case id, received, category, region, summary, petitioner items
Recent = tuple[str, int, str, str, str, tuple[tuple[str, str], ...]]

_POOL_SIZE: Final = 3000  # repeat petitioners / callers remembered per pool
_BIRTH0: Final = date(1945, 1, 1)
PETITION: Final = frozenset({"letter", "visit", "online_petition"})
HOTLINES: Final = frozenset({"hotline_12345", "hotline_12319", "mayor_mailbox"})
_LEADS: Final = {
    "mayor_mailbox": "来信反映",
    "letter": "来信反映",
    "visit": "来访反映",
    "online_petition": "网上反映",
}
ALL_DEPARTMENTS: Final = tuple(
    dict.fromkeys(d for c in W.HOTLINE_CATEGORIES for d in c.departments if "{" not in d)
)
# cumulative weights of the draws: read-only module constants, not attributes of a run (see SimBase)
_REGION_CUM: Final = cumulative([r[2] for r in W.REGIONS])
_CAT_CUM: Final = {
    ch: (cats, cumulative([c.weight for c in cats]))
    for ch, cats in (
        ("hotline_12319", W.HOUSING_CATEGORIES),
        ("city_management", W.CITY_MANAGEMENT_CATEGORIES),
        ("disclosure_request", W.DISCLOSURE_CATEGORIES),
    )
}
_HOTLINE_CATS: Final = (W.HOTLINE_CATEGORIES, cumulative([c.weight for c in W.HOTLINE_CATEGORIES]))
_PROMISED: Final = ([d for d, _ in W.PROMISED_DAYS], cumulative([w for _, w in W.PROMISED_DAYS]))


class People(SimBase):
    """Petitioners, regions and topics of new cases; remembers repeat petitioners and recent cases."""

    def __init__(self, cfg: GeneratorConfig, calendar: Calendar, stats: GenerationStats) -> None:
        super().__init__(cfg, calendar, stats)
        self.recent: dict[str, deque[Recent]] = {p.channel: deque(maxlen=64) for p in W.PROFILES}
        self.pools: dict[str, list[list[Any]]] = {"petition": [], "hotline": []}

    def new_person(self, region_code: str) -> dict[str, str]:
        """Synthetic, well-formed personal data: a Chinese name, an 11-digit mobile number and an 18-digit
        resident ID number (region code, birth date, sequence with the sex digit, GB 11643 check digit)."""
        rnd, pick = self.rnd, self.pick
        female = rnd() < 0.45
        given = W.GIVEN_FEMALE if female else W.GIVEN_MALE
        name = W.SURNAMES[int(len(W.SURNAMES) * rnd() ** 1.8)] + pick(given)
        if rnd() < 0.7:
            name += pick(given)
        birth = _BIRTH0 + timedelta(days=int(rnd() * 21_900))  # born 1945-2004
        seq = int(rnd() * 100) * 10 + int(rnd() * 5) * 2 + (0 if female else 1)
        first17 = f"{region_code}{birth.year}{birth.month:02d}{birth.day:02d}{seq:03d}"
        phone = f"{pick(W.PHONE_PREFIXES)}{int(rnd() * 100_000_000):08d}"
        return {"name": name, "phone": phone, "id_number": first17 + W.id_check_digit(first17)}

    def person(self, pool_name: str | None, region_code: str) -> tuple[dict[str, str], list[Any] | None]:
        """A petitioner, and its pool entry ``[person, last case id, last received]`` if it may come back:
        repeat petitioners and callers come from a bounded pool, a few of them again and again."""
        rnd = self.rnd
        if pool_name is None:
            return self.new_person(region_code), None
        pool = self.pools[pool_name]
        if pool and rnd() < (0.25 if pool_name == "petition" else 0.12):
            entry = pool[int(len(pool) * rnd() ** 2)]
            return entry[0], entry
        person = self.new_person(region_code)
        if rnd() >= 0.5:
            return person, None
        entry = [person, None, 0]
        if len(pool) < _POOL_SIZE:
            pool.append(entry)
        else:
            pool[self.ri(_POOL_SIZE // 10, _POOL_SIZE - 1)] = entry  # the most frequent petitioners stay
        return person, entry

    def region(self) -> tuple[str, str, float]:
        return W.REGIONS[bisect_left(_REGION_CUM, self.rnd() * _REGION_CUM[-1])]

    def topic(self, p: W.Profile, region: str) -> tuple[str, str, tuple[str, ...], int | None]:
        """(category, summary, candidate departments, promised days) of a new case."""
        rnd, pick, ch = self.rnd, self.pick, p.channel
        if ch == "service_center":
            item, window, legal, on_spot = pick(W.SERVICE_ITEMS)
            days = 0 if rnd() < on_spot else self.weighted(*_PROMISED)
            return item, f"申请办理{item}", (window,), min(days, legal)
        if ch == "npc_suggestion" or ch == "cppcc_proposal":
            subject, dept = pick(W.PROPOSAL_TOPICS)
            kind = "建议" if ch == "npc_suggestion" else "提案"
            return subject, f"关于{subject}的{kind}", (dept, "市发展和改革委员会", "市财政局"), None
        cats, cum = _CAT_CUM.get(ch, _HOTLINE_CATS)
        cat = cats[bisect_left(cum, rnd() * cum[-1])]
        problem = pick(cat.problems)
        depts = tuple([d.replace("{region}", region) if "{" in d else d for d in cat.departments])
        if ch == "disclosure_request":
            return cat.name, f"申请公开{region}{problem}相关政府信息", depts, None
        place = pick(W.ESTATES) if rnd() < 0.6 else pick(W.ROADS)
        if ch == "city_management":
            return cat.name, f"监督员上报:{region}{place}{problem}", depts, None
        text = f"{_LEADS.get(ch, '来电反映')}{region}{place}{problem}"
        if ch in PETITION:
            text += ",要求尽快解决"
        return cat.name, text, depts, None
