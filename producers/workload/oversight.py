"""The life cycles of oversight: supervision orders (督办单) and rectification items (整改), each a Python
generator that yields its steps in ``time`` order, like a case (docs/demo.md describes the workload).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from producers.workload import data as W
from producers.workload.base import Life, cumulative
from producers.workload.clock import DAY
from producers.workload.people import ALL_DEPARTMENTS, People

_VERIFIERS: Final = ("市政府督查室", "市纪委监委", "市审计局", "市政务公开办")
_DEPT_COUNT_CUM: Final = [60.0, 88.0, 100.0]  # departments per supervision order: 1, 2 or 3
_LEVELS: Final = ([lv for lv, _ in W.SUPERVISION_LEVELS], cumulative([w for _, w in W.SUPERVISION_LEVELS]))
_SOURCES: Final = (
    [s for s, _ in W.RECTIFICATION_SOURCES],
    cumulative([w for _, w in W.RECTIFICATION_SOURCES]),
)


class OversightLives(People):
    """Plays the life cycles of supervision orders and rectification items."""

    def supervision_life(self, oid: str, t0: int) -> Life:
        """A supervision order (督办单): issued, progress, 0-3 urgings, completed or cancelled."""
        rnd, clock = self.rnd, self.clock
        data, due = self._supervision_issue(t0)
        recent = self.recent["hotline_12345" if rnd() < 0.6 else "letter"]
        if recent and rnd() < 0.3:
            data["target_case_id"] = self.pick(recent)[0]
        yield t0, "supervision.issued", data, 1
        overdue = rnd() < self.cfg.supervision_overdue_fraction
        cancelled = not overdue and rnd() < 0.05
        t_end = self.office(clock.add_wd(due, self.ri(2, 12))) if overdue else self.until(t0, due, 1.0)
        t = t0
        for tt, etype, d in self._supervision_plan(t0, t_end, data["departments"], due, overdue):
            t = max(tt, t + 60)
            yield t, etype, d, 1
        t = max(t_end, t + 600)
        if cancelled:
            yield t, "supervision.cancelled", {"reason": "情况发生变化,经批准撤销督办"}, 1
        else:
            result = {"department": data["departments"][0], "result": "已按要求办结,办理结果已书面报送"}
            yield t, "supervision.completed", result, 1

    def _supervision_issue(self, t0: int) -> tuple[dict[str, Any], int]:
        """The ``supervision.issued`` payload of a new order and its due day."""
        pick, clock = self.pick, self.clock
        level = self.weighted(*_LEVELS)
        issued_by = pick(W.SUPERVISION_ISSUERS[level])
        depts = self.rng.sample(ALL_DEPARTMENTS, self.weighted((1, 2, 3), _DEPT_COUNT_CUM))
        due = clock.add_wd(t0 // DAY, pick((5, 10, 10, 15, 20, 30)))
        subject = pick(W.SUPERVISION_SUBJECTS)
        title = (
            f"{issued_by}批示:抓紧解决{subject}"
            if level == "leader_instruction"
            else f"关于{subject}的督办通知"
        )
        data = {"title": title, "issued_by": issued_by, "level": level, "departments": depts,
                "due_date": clock.date_of(due).isoformat()}  # fmt: skip
        if len(depts) > 1:  # the first department leads (主办) and completes the order; no extra draw
            data["lead_department"] = depts[0]
        return data, due

    def _supervision_plan(
        self, t0: int, t_end: int, depts: list[str], due: int, overdue: bool
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """Progress reports of each department and the urgings (each raising the stage), in time order."""
        rnd, ri, pick, clock = self.rnd, self.ri, self.pick, self.clock
        plan: list[tuple[int, str, dict[str, Any]]] = []
        for dept in depts:
            percent = 0
            for _ in range(ri(1, 2)):
                tt = self.office(clock.next_wd((t0 + int((t_end - t0) * rnd())) // DAY))
                if t0 < tt < t_end:
                    percent = min(90, percent + pick((30, 40, 50)))
                    report = {"department": dept, "note": f"已完成{percent}%,正在推进", "percent": percent}
                    plan.append((tt, "supervision.progress_reported", report))
        urges = ri(1, 3) if overdue else int(rnd() < 0.25)
        first = clock.add_wd(due, 1) if overdue else (t0 + t_end) // 2 // DAY
        for i in range(urges):
            tt = self.office(clock.next_wd(clock.add_wd(first, 3 * i)))
            if t0 < tt < t_end:
                plan.append((tt, "supervision.urged", {"note": f"第{i + 1}次催办,请抓紧办理"}))
        plan.sort(key=itemgetter(0))
        return plan

    def rectification_life(self, iid: str, t0: int) -> Life:
        """A rectification item (整改): opened, progress, maybe extended, completed, verified (or rejected once)."""
        rnd, ri, pick, clock = self.rnd, self.ri, self.pick, self.clock
        source = self.weighted(*_SOURCES)
        measures = self.rng.sample(W.RECTIFICATION_MEASURES, ri(2, 6))
        deadline = clock.next_wd(t0 // DAY + pick((30, 45, 60, 90)))
        data: dict[str, Any] = {
            "source": source, "problem": pick(W.RECTIFICATION_PROBLEMS), "department": pick(ALL_DEPARTMENTS),
            "responsible_person": self.new_person(self.region()[1])["name"],
            "deadline": clock.date_of(deadline).isoformat(), "measures": measures,
        }  # fmt: skip
        recent = self.recent["letter" if source == "petition" else "hotline_12345"]
        if (source == "petition" or source == "public_review") and recent:
            data["related_case_id"] = pick(recent)[0]
        yield t0, "rectification.opened", data, 1
        n = len(measures)
        t, done = t0, 0
        if rnd() < 0.15:
            t = self.office(clock.next_wd(t // DAY + ri(7, 20)))
            done = ri(1, n - 1)
            yield t, "rectification.progress_reported", {"measures_done": done, "note": "按计划推进"}, 1
            t = self.until(t, deadline, 0.5)
            deadline = clock.next_wd(deadline + pick((30, 60)))
            new = clock.date_of(deadline).isoformat()
            yield t, "rectification.extended", {"new_deadline": new, "reason": pick(W.EXTENSION_REASONS)}, 1
        late = rnd() < 0.1
        t_end = self.office(clock.next_wd(deadline + ri(3, 30))) if late else self.until(t, deadline, 1.0)
        while done < n - 1 and rnd() < 0.7:
            tt = self.office(clock.next_wd((t + (t_end - t) // 3) // DAY))
            if not t < tt < t_end:
                break
            t, done = tt, ri(done + 1, n - 1)
            yield t, "rectification.progress_reported", {"measures_done": done}, 1
        t = max(t_end, t + 600)
        yield t, "rectification.completed", {"summary": f"{n}项整改措施已全部完成"}, 1
        yield from self._verification(t, n)

    def _verification(self, t: int, n: int) -> Life:
        """验收: signed off (销号), or rejected once, improved and signed off at the second attempt."""
        ri, pick = self.ri, self.pick
        for attempt in range(2):
            t = self.wd_after(t, ri(3, 10))
            verifier = pick(_VERIFIERS)
            if attempt == 1 or self.rnd() < 0.8:
                verdict = {"accepted": True, "verifier": verifier, "note": "验收合格,予以销号"}
                yield t, "rectification.verified", verdict, 1
                return
            verdict = {"accepted": False, "verifier": verifier, "note": "整改不彻底,退回继续整改"}
            yield t, "rectification.verified", verdict, 1
            t = self.wd_after(t, ri(2, 6))
            yield (
                t,
                "rectification.progress_reported",
                {"measures_done": n, "note": "根据验收意见补充整改"},
                1,
            )
            t = self.wd_after(t, ri(1, 5))
            yield t, "rectification.completed", {"summary": "已按验收意见补充整改完毕"}, 1
