"""The life cycles of oversight: supervision orders (督办单) and rectification items (整改).

Both are issued on working days at a low daily rate, run for weeks to months, and refer back to recent cases
(a supervised case, a petition that revealed a problem). A supervision order is issued to one to three
departments, gets progress reports and urgings (each raising its escalation stage) and is completed or
cancelled, overdue in ``supervision_overdue_fraction`` of the orders. A rectification item lists measures,
reports progress, may be extended, is completed and then verified (rejected once in a while). Like a case,
each is a Python generator that yields its steps in ``time`` order.
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
        rnd, ri, pick, clock = self.rnd, self.ri, self.pick, self.clock
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
        due_date = clock.date_of(due).isoformat()
        data = {
            "title": title,
            "issued_by": issued_by,
            "level": level,
            "departments": depts,
            "due_date": due_date,
        }
        recent = self.recent["hotline_12345" if rnd() < 0.6 else "letter"]
        if recent and rnd() < 0.3:
            data["target_case_id"] = pick(recent)[0]
        yield t0, "supervision.issued", data, 1
        overdue = rnd() < self.cfg.supervision_overdue_fraction
        cancelled = not overdue and rnd() < 0.05
        t_end = self.office(clock.add_wd(due, ri(2, 12))) if overdue else self.until(t0, due, 1.0)
        plan: list[tuple[int, str, dict[str, Any]]] = []
        for dept in depts:
            percent = 0
            for _ in range(ri(1, 2)):
                tt = self.office(clock.next_wd((t0 + int((t_end - t0) * rnd())) // DAY))
                if t0 < tt < t_end:
                    percent = min(90, percent + pick((30, 40, 50)))
                    note = f"已完成{percent}%,正在推进"
                    plan.append(
                        (
                            tt,
                            "supervision.progress_reported",
                            {"department": dept, "note": note, "percent": percent},
                        )
                    )
        urges = ri(1, 3) if overdue else int(rnd() < 0.25)  # each urging raises the escalation stage
        first = clock.add_wd(due, 1) if overdue else (t0 + t_end) // 2 // DAY
        for i in range(urges):
            tt = self.office(clock.next_wd(clock.add_wd(first, 3 * i)))
            if t0 < tt < t_end:
                plan.append((tt, "supervision.urged", {"note": f"第{i + 1}次催办,请抓紧办理"}))
        plan.sort(key=itemgetter(0))
        t = t0
        for tt, etype, d in plan:
            t = max(tt, t + 60)
            yield t, etype, d, 1
        t = max(t_end, t + 600)
        if cancelled:
            yield t, "supervision.cancelled", {"reason": "情况发生变化,经批准撤销督办"}, 1
        else:
            yield (
                t,
                "supervision.completed",
                {"department": depts[0], "result": "已按要求办结,办理结果已书面报送"},
                1,
            )

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
        for attempt in range(2):
            t = self.wd_after(t, ri(3, 10))
            verifier = pick(_VERIFIERS)
            if attempt == 1 or rnd() < 0.8:
                yield (
                    t,
                    "rectification.verified",
                    {"accepted": True, "verifier": verifier, "note": "验收合格,予以销号"},
                    1,
                )
                return
            yield (
                t,
                "rectification.verified",
                {"accepted": False, "verifier": verifier, "note": "整改不彻底,退回继续整改"},
                1,
            )
            t = self.wd_after(t, ri(2, 6))
            yield (
                t,
                "rectification.progress_reported",
                {"measures_done": n, "note": "根据验收意见补充整改"},
                1,
            )
            t = self.wd_after(t, ri(1, 5))
            yield t, "rectification.completed", {"summary": "已按验收意见补充整改完毕"}, 1
