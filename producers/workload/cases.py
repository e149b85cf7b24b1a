"""The life cycle of a case, from ``case.received`` to ``case.closed``.

A case is a Python generator (:meth:`CaseLives.case_life`) that yields its steps in ``time`` order and draws
the next one only when the previous one is published, so an open case costs one suspended frame. The paths
follow the channel's :class:`~producers.workload.data.Profile`: answered at once, rejected, accepted,
assigned and returned (退单), suspended and resumed (补正 restarts the clock), extended (延期, schema v2 names
the unit), resolved in time or late, followed up (回访), reopened (重办), reviewed (复查/复核), merged into an
earlier case (重复件), closed. Deadlines follow ``projections/default_policy.toml``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

from producers.workload import data as W
from producers.workload.base import Life, Step, cumulative
from producers.workload.clock import DAY
from producers.workload.envelope import dumps
from producers.workload.people import ALL_DEPARTMENTS, HOTLINES, PETITION, People
from producers.workload.report_fields import co_departments, disclosure_result, intake_fields, received_fields
from producers.workload.texts import with_personal_data

_HOTLINE_CENTRE: Final = "市12345政务服务便民热线"
_OUTCOME_KIND: Final = {
    "service_center": "service", "disclosure_request": "disclosure", "npc_suggestion": "proposal",
    "cppcc_proposal": "proposal", "letter": "petition", "visit": "petition", "online_petition": "petition",
}  # fmt: skip
_APPROVERS: Final = {
    "hotline_12345": "市12345热线服务中心", "hotline_12319": "市住房和城乡建设局", "mayor_mailbox": "市政府办公室",
    "letter": "市信访局", "visit": "市信访局", "online_petition": "市信访局", "npc_suggestion": "市政府办公室",
    "cppcc_proposal": "市政府办公室", "city_management": "市数字化城市管理指挥中心",
    "disclosure_request": "机关负责人", "service_center": "市政务服务管理办公室",
}  # fmt: skip
_UNIT_NAMES: Final = {"wd": "working_days", "cal": "calendar_days", "months": "months"}
_DISSATISFIED: Final = frozenset({"dissatisfied", "very_dissatisfied"})
_SATISFACTION_CUM: Final = (cumulative(W.SATISFACTION_HOTLINE), cumulative(W.SATISFACTION_SERVICE))
_OUTCOME_CUM: Final = {k: cumulative(v) for k, v in W.OUTCOME_WEIGHTS.items()}


def _assigned(ch: str, t0: int, dept: str, note: bool) -> dict[str, Any]:
    """A ``case.assigned`` payload; a 并联审批 service-centre application names its co-departments."""
    data: dict[str, Any] = (
        {"department": dept, "note": "请按时限办理并答复"} if note else {"department": dept}
    )
    parallel = co_departments(ch, f"{t0}/{dept}", dept, ALL_DEPARTMENTS)
    if parallel:
        data["co_departments"] = parallel
    return data


def _resolution(ch: str, t0: int, t: int, dept: str, outcome: str, reply: str) -> dict[str, Any]:
    """A ``case.resolved`` payload; a disclosure request's carries the annual report's category."""
    data: dict[str, Any] = {"department": dept, "outcome": outcome, "reply_summary": reply}
    if ch == "disclosure_request":
        data["disclosure"] = disclosure_result(outcome, f"{t0}/{t}")
    return data


class CaseLives(People):
    """Creates cases (:meth:`start_case`) and plays their life cycles (:meth:`case_life`)."""

    def received(
        self, p: W.Profile, cid: str, t0: int
    ) -> tuple[dict[str, Any], str | None, tuple[str, ...], int]:
        """The ``case.received`` payload of a new case, the case it repeats (to merge into) if any, the
        candidate departments and the time limit."""
        rnd, ch = self.rnd, p.channel
        region, region_code, _ = self.region()
        category, summary, depts, promised = self.topic(p, region)
        data: dict[str, Any] = {"channel": ch, "category": category, "summary": summary, "region": region}
        limit = p.limit
        if promised is not None:
            limit = promised
            data["time_limit_days"] = promised
        elif p.p_urgent and rnd() < p.p_urgent:
            data["urgency"] = "urgent"
            limit = 1
        petitioner: dict[str, str] | None = None
        merge_into: str | None = None
        if rnd() < p.p_person:
            pool = "petition" if ch in PETITION else "hotline" if ch in HOTLINES else None
            person, entry = self.person(pool, region_code)
            if pool == "hotline":  # callers give a name and a number
                petitioner = {"name": person["name"], "phone": person["phone"]}
            else:
                petitioner = person
            if entry is not None:
                if ch in PETITION and entry[1] is not None and entry[2] < t0 and rnd() < 0.35:
                    merge_into = entry[1]  # the same petitioner on the same matter again (重复信访)
                entry[1], entry[2] = cid, t0
        if merge_into is None and p.p_merge and rnd() < p.p_merge:
            recent = self.recent[ch]
            if recent and recent[0][1] < t0:
                target = recent[int(rnd() * len(recent))]
                if target[1] < t0:  # a repeat of an earlier case (重复件): merged into it
                    merge_into, _, category, region, summary, person_items = target
                    petitioner = dict(person_items) if person_items else None
                    data.update(category=category, region=region, summary="再次反映:" + summary)
        if petitioner is not None:
            data["summary"] = with_personal_data(cid, data["summary"], petitioner)  # as citizens write
            data["petitioner"] = petitioner
        data.update(received_fields(ch, cid, data["category"], petitioner is not None))  # the reports' fields
        data.update(intake_fields(ch, cid, data.get("urgency")))  # channels, categories, tiers (issue 19)
        if merge_into is None:
            # the petitioner as a tuple of items: a tuple of strings only, which the cyclic GC untracks
            self.recent[ch].append(
                (cid, t0, category, region, summary, tuple(petitioner.items()) if petitioner else ())
            )
        return data, merge_into, depts, limit

    def start_case(self, p: W.Profile, cid: str, t0: int, source: str) -> None:
        """Schedule a new case: its ``case.received`` now, the rest of its life from :meth:`case_life`."""
        data, merge_into, depts, limit = self.received(p, cid, t0)
        life = self.case_life(p, t0, merge_into, depts, limit, data["region"])
        self.seq += 1
        self.schedule(
            [t0, self.seq, life, "case", cid, source, "case.received", dumps(data), 1, data["channel"]]
        )

    def case_life(
        self, p: W.Profile, t0: int, merge_into: str | None, depts: tuple[str, ...], limit: int, region: str
    ) -> Life:
        """The life of a case after its receipt at ``t0``. Locals live as long as the case is open, so there
        are few of them, none holds a payload, and there are no comprehensions (they would make cells).
        Each stage is a sub-generator (``yield from``) that returns what the next one needs."""
        if merge_into is not None:
            yield (
                self.office_after(t0, self.ri(600, 6 * 3600)),
                "case.merged",
                {"into_case_id": merge_into},
                1,
            )
            return
        if p.p_direct and self.rnd() < p.p_direct:  # a consultation the call taker answers at once
            yield from self._answered_at_once(t0)
            return
        accepted = yield from self._intake(p, t0)
        if accepted is None:
            return
        t, dl = accepted[0], self.deadline(p.unit, accepted[1], limit)
        t, dept = yield from self._assignment(p, t0, t, depts, region)
        resumed = yield from self._suspension(p, t, dl, limit)
        if resumed is None:
            return  # never corrected: deemed withdrawn (视为放弃申请)
        t, dl = yield from self._extension(p, *resumed, limit)
        t = yield from self._resolution(p, t0, t, dl, dept, limit)
        t = yield from self._reviews(p, t)
        ch = p.channel
        if ch == "service_center":
            t += self.ri(60, 3600)
        elif ch == "city_management":
            t = self.around_clock(t, 4 * 3600)  # the collector verifies on site (核查结案)
        else:
            t = self.wd_after(t, self.ri(0, 2))
        yield t, "case.closed", {}, 1

    def _answered_at_once(self, t0: int) -> Life:
        t = t0 + self.ri(120, 900)
        reply = "话务员依据知识库直接答复"
        yield (
            t,
            "case.resolved",
            {"department": _HOTLINE_CENTRE, "outcome": "explained", "reply_summary": reply},
            1,
        )
        if self.rnd() < 0.5:
            t = self.wd_after(t, self.ri(0, 1))
            sat = self.weighted(W.SATISFACTION, _SATISFACTION_CUM[0])
            yield t, "case.followed_up", {"satisfaction": sat, "note": "电话回访"}, 1
        yield self.around_clock(t, 3600), "case.closed", {}, 1

    def _intake(self, p: W.Profile, t0: int) -> Generator[Step, None, tuple[int, int] | None]:
        """Acceptance (受理) or rejection (不予受理); returns (time, the day the clock starts) or None."""
        rnd, ri, pick, ch = self.rnd, self.ri, self.pick, p.channel
        t = t0
        if p.accept:
            t = self.wd_after(t, ri(0, 4 if ch in PETITION else 2))
            if rnd() < p.p_reject:
                reasons = W.PETITION_REJECT_REASONS if ch in PETITION else W.DISCLOSURE_REJECT_REASONS
                yield t, "case.rejected", {"reason": pick(reasons)}, 1
                return None
            yield t, "case.accepted", {}, 1
            return t, t // DAY
        if p.p_reject and rnd() < p.p_reject:
            yield t + ri(300, 1800), "case.rejected", {"reason": pick(W.SERVICE_REJECT_REASONS)}, 1
            return None
        return t, t0 // DAY

    def _assignment(
        self, p: W.Profile, t0: int, t: int, depts: tuple[str, ...], region: str
    ) -> Generator[Step, None, tuple[int, str]]:
        """派单, and perhaps a 退单 and a re-assignment; returns (time, the department holding the case)."""
        rnd, ri, pick, ch = self.rnd, self.ri, self.pick, p.channel
        dept = depts[0] if len(depts) == 1 or rnd() < 0.6 else depts[1 + int(rnd() * (len(depts) - 1))]
        if ch == "service_center":
            t += ri(60, 300)
        elif p.intake == "24h" or p.intake == "daytime":
            t = self.around_clock(t, 2400)
        else:
            t = self.wd_after(t, ri(0, 3 if p.unit == "months" else 1))
        yield t, "case.assigned", _assigned(ch, t0, dept, rnd() < 0.5), 1
        if p.p_return and rnd() < p.p_return:  # 退单: not our duty; the dispatcher re-assigns
            t = self.wd_after(t, ri(0, 1 if ch == "city_management" else 2))
            yield t, "case.returned", {"department": dept, "reason": pick(W.RETURN_REASONS)}, 1
            if len(depts) > 1:  # another candidate (no comprehension in here: it would make ``dept`` a cell)
                i = int(rnd() * (len(depts) - 1))
                dept = depts[i] if depts[i] != dept else depts[-1]
            else:
                other = pick(ALL_DEPARTMENTS)
                dept = other if other != dept and rnd() < 0.5 else f"{region}人民政府"
            t = self.office_after(t, ri(1800, 4 * 3600))
            yield t, "case.assigned", {"department": dept, "note": "退单后重新派单"}, 1
        return t, dept

    def _suspension(
        self, p: W.Profile, t: int, dl: int, limit: int
    ) -> Generator[Step, None, tuple[int, int] | None]:
        """A suspension (听证, third-party consultation, 补正) and its end; returns (time, deadline), or None for a
        request withdrawn for want of a correction."""
        if not (p.p_suspend and self.rnd() < p.p_suspend):
            return t, dl
        rnd, ri, clock, ch = self.rnd, self.ri, self.clock, p.channel
        correction = ch == "disclosure_request" and rnd() < 0.7
        if correction:
            reason = "申请内容不明确,已书面告知申请人补正"
        elif ch == "disclosure_request":
            reason = "涉及第三方权益,书面征求第三方意见"
        else:
            reason = "组织听证"
        t_s = self.wd_after(t, ri(1, 4))
        yield t_s, "case.suspended", {"reason": reason}, 1
        if correction and rnd() < 0.1:  # never corrected: deemed withdrawn (视为放弃申请)
            yield self.office(clock.add_wd(t_s // DAY, 15 + ri(0, 5))), "case.closed", {}, 1
            return None
        if correction:
            t = self.office_after(t_s, DAY * ri(2, 15))
            dl = self.deadline(p.unit, t // DAY, limit)  # 补正 restarts the clock
        else:
            t = self.wd_after(t_s, ri(5, 15))
            paused = t // DAY - t_s // DAY if p.unit != "wd" else clock.wd_between(t_s // DAY, t // DAY)
            dl = self.extend_deadline(p.unit, dl, paused)
        yield t, "case.resumed", {"restart_clock": correction}, 1
        return t, dl

    def _extension(self, p: W.Profile, t: int, dl: int, limit: int) -> Generator[Step, None, tuple[int, int]]:
        """An approved extension (延期), schema v1 or v2; returns (time, deadline)."""
        if not (limit > 0 and p.p_extend and self.rnd() < p.p_extend):
            return t, dl
        t = self.until(t, dl, 0.5)
        reason, approver = self.pick(W.EXTENSION_REASONS), _APPROVERS[p.channel]
        if p.unit == "months" or self.rnd() < 0.3:  # schema v2 names the unit
            data = {
                "extra": p.extend_by,
                "unit": _UNIT_NAMES[p.unit],
                "reason": reason,
                "approved_by": approver,
            }
            yield t, "case.extended", data, 2
        else:
            yield (
                t,
                "case.extended",
                {"extra_days": p.extend_by, "reason": reason, "approved_by": approver},
                1,
            )
        return t, self.extend_deadline(p.unit, dl, p.extend_by)

    def _resolution(
        self, p: W.Profile, t0: int, t: int, dl: int, dept: str, limit: int
    ) -> Generator[Step, None, int]:
        """办结, then follow-ups (回访), perhaps a 重办 and its second resolution; returns the time."""
        rnd, ri, pick, ch = self.rnd, self.ri, self.pick, p.channel
        if limit == 0:
            t += ri(300, 2400)  # 即办件: done while the applicant waits
        elif rnd() < self.cfg.late_resolution_fraction * (0.02 if ch == "service_center" else 1.0):
            t = self.overdue(p.unit, t, dl)
        else:
            t = self.until(t, dl, p.speed)
        outcome = self.weighted(W.OUTCOMES, _OUTCOME_CUM[_OUTCOME_KIND.get(ch, "default")])
        reply = pick(W.REPLY_SUMMARIES[outcome])
        yield t, "case.resolved", _resolution(ch, t0, t, dept, outcome, reply), 1
        reopened = False
        while rnd() < p.p_followup:  # 回访 / 评价
            if ch == "service_center":
                t += ri(30, 1800)
            else:
                t = self.wd_after(t, ri(0, 2))
            sat = self.weighted(W.SATISFACTION, _SATISFACTION_CUM[1 if p.satisfied_bias or reopened else 0])
            yield t, "case.followed_up", {"satisfaction": sat, "note": pick(W.FOLLOWUP_NOTES)}, 1
            if reopened or sat not in _DISSATISFIED or rnd() >= p.p_reopen:
                break
            reopened = True  # 重办
            t = self.office_after(t, ri(600, 4 * 3600))
            yield t, "case.reopened", {"reason": pick(W.REOPEN_REASONS)}, 1
            if rnd() < 0.5:
                t = self.office_after(t, ri(600, 3 * 3600))
                yield t, "case.assigned", {"department": dept, "note": "重办"}, 1
            t = self.wd_after(t, ri(1, 3))
            yield t, "case.resolved", _resolution(ch, t0, t, dept, "resolved", "重办后已解决"), 1
        return t

    def _reviews(self, p: W.Profile, t: int) -> Generator[Step, None, int]:
        """复查, then perhaps 复核 (30 days each); returns the time."""
        if not (p.p_review and self.rnd() < p.p_review):
            return t
        clock = self.clock
        for level in ("review", "re_review"):
            t = self.office(clock.next_wd(t // DAY + self.ri(3, 28)))
            yield t, "case.review_requested", {"level": level}, 1
            t = self.office(clock.next_wd(t // DAY + self.ri(10, 27)))
            decision = "upheld" if self.rnd() < 0.85 else "changed"
            yield t, "case.review_decided", {"level": level, "decision": decision}, 1
            if decision == "changed" or self.rnd() >= 0.3:
                break
        return t
