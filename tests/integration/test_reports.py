"""The reports on the real broker and database: figures by hand from a small stream, an "as of" cut that a
late event does not change, frozen reports that never change, the CLI, and co-petitioners sealed.

Calendar (official 2026 data): Fri 2026-09-18, Sun 2026-09-20 is a 调休 working day, Mon 21, Tue 22.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from app.settings import Settings
from events.catalog import Event
from events.codec import event_from_dict
from projections.calendar import WorkCalendar
from reports import build, formats, pg_facts, pg_store
from reports.periods import parse_period
from reports.table import Report
from tests.factories import TZ
from tests.integration.helpers import consume, publish, query
from tests.integration.ops_support import run_cli
from tests.property.test_security import login_in  # noqa: F401 - the fixture

_ids = itertools.count()


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), TZ)


def e(type_: str, subject: str, day: str, hour: int = 10, **data: Any) -> Event:
    return event_from_dict(
        {"specversion": "1.0", "id": f"r{next(_ids):06d}", "source": "test/reports", "type": type_,
         "subject": subject, "time": at(day, hour).isoformat(), "data": data}
    )  # fmt: skip


def received(subject: str, day: str, channel: str, hour: int = 10, **extra: Any) -> Event:
    return e("case.received", subject, day, hour, channel=channel, category="政府信息", summary="s", **extra)


def person(n: int) -> dict[str, str]:
    return {"name": f"申请人{n}", "phone": f"1380000{n:04d}"}


def stream() -> list[Event]:
    dr = "disclosure_request"
    resolved = "case.resolved"
    return [
        # disclosure requests, 2026
        received("R1", "2026-03-02", dr, applicant_type="natural_person"),
        e(resolved, "R1", "2026-03-20", department="市政府办公室", outcome="resolved",
          disclosure={"outcome": "disclosed"}),
        received("R2", "2026-04-01", dr, applicant_type="commercial_enterprise"),
        e(resolved, "R2", "2026-04-20", department="市政府办公室", outcome="explained",
          disclosure={"outcome": "not_disclosed", "reason": "state_secret"}),
        received("R3", "2026-09-01", dr, applicant_type="natural_person"),
        received("R4", "2025-12-25", dr, applicant_type="research_institution"),
        e(resolved, "R4", "2026-01-08", department="市政府办公室", outcome="resolved",
          disclosure={"outcome": "partially_disclosed"}),
        # petitions, Q3 2026
        received("P1", "2026-07-06", "visit", petitioner=person(1), co_petitioners=[person(2), person(3)],
                 headcount=6, skip_level=True),
        received("P2", "2026-08-03", "letter", petitioner=person(4)),
        received("P3", "2026-09-07", "visit", petitioner=person(5), co_petitioners=[person(6)]),
        received("P4", "2026-10-02", "online_petition"),
        # service centre, Q3 2026
        received("S1", "2026-09-29", "service_center", time_limit_days=0, legal_time_limit_days=20),
        e(resolved, "S1", "2026-09-29", 11, department="市行政审批局", outcome="resolved"),
        e("case.followed_up", "S1", "2026-09-29", 12, satisfaction="satisfied"),
        received("S2", "2026-09-18", "service_center", time_limit_days=5, legal_time_limit_days=20),
        e("case.assigned", "S2", "2026-09-18", 11, department="市行政审批局", co_departments=["市市场监管局"]),
        e(resolved, "S2", "2026-09-22", 15, department="市行政审批局", outcome="resolved"),
        e("case.followed_up", "S2", "2026-09-23", satisfaction="unreachable"),  # not rated
        # completed in Q2, and not completed: neither counts in Q3
        received("S3", "2026-06-20", "service_center", time_limit_days=5, legal_time_limit_days=20),
        e(resolved, "S3", "2026-06-30", 15, department="市行政审批局", outcome="resolved"),
        received("S4", "2026-09-30", "service_center", time_limit_days=5),
    ]  # fmt: skip


def late_events() -> list[Event]:
    return [
        e("case.resolved", "R3", "2026-09-25", department="市政府办公室", outcome="explained",
          disclosure={"outcome": "unable_to_provide", "reason": "not_held"}),
        received("P5", "2026-09-28", "visit", headcount=5),
    ]  # fmt: skip


ANALYST_QUERY = """
SELECT r ->> 1 AS channel, (r ->> 4)::int AS batches, (r ->> 5)::int AS people
FROM published_reports p, jsonb_array_elements(p.content -> 'rows') r
WHERE p.kind = 'petitions' AND p.period = '2026-Q3'
  AND p.version = (SELECT max(version) FROM published_reports WHERE kind = 'petitions' AND period = '2026-Q3');
"""


def _now(url: str) -> dt.datetime:
    moment: dt.datetime = query(url, "SELECT now()")[0][0]
    return moment


def _row(report: Report, key: str) -> dict[str, Any]:
    keys = [c.key for c in report.columns]
    return next(dict(zip(keys, r, strict=True)) for r in report.rows if key in r)


@pytest.fixture()
def reported(settings: Settings) -> tuple[Settings, dt.datetime]:
    publish(settings, stream())
    consume(settings)
    cut = _now(settings.database_url or "")
    return settings, cut


def test_reports_by_hand_as_of_and_frozen(reported: tuple[Settings, dt.datetime]) -> None:
    settings, cut = reported
    url = settings.database_url or ""
    conn = psycopg2.connect(url)
    try:
        year, q3 = parse_period("2026"), parse_period("2026-Q3")
        disclosure = build.disclosure_annual(conn, year, cut)
        new, carried = _row(disclosure, "new"), _row(disclosure, "carried_over")
        # new: R1, R3 natural persons, R2 a commercial enterprise; carried over: R4 (received 2025)
        assert (new["natural_person"], new["commercial_enterprise"], new["total"]) == (2, 1, 3)
        assert (carried["research_institution"], carried["total"]) == (1, 1)
        assert _row(disclosure, "disclosed")["total"] == 1  # R1
        assert _row(disclosure, "not_disclosed.state_secret")["commercial_enterprise"] == 1  # R2
        assert _row(disclosure, "partially_disclosed")["research_institution"] == 1  # R4
        assert _row(disclosure, "outcome_total")["total"] == 3
        assert _row(disclosure, "carried_forward")["natural_person"] == 1  # R3, open at the cut

        petitions = build.petition_statistics(conn, q3, cut)
        total = _row(petitions, "total")
        # P1 6 people (headcount), P2 1, P3 2 (petitioner + 1 co-petitioner); P4 is October
        assert (total["batches"], total["people"]) == (3, 9)
        assert (total["collective_batches"], total["collective_people"]) == (1, 6)  # P1
        assert (total["skip_level_batches"], total["skip_level_people"]) == (1, 6)  # P1
        assert total["several_petitioners"] == 2  # P1, P3

        service = build.service_centre_figures(conn, q3, cut, WorkCalendar.load(None), 20)
        s = _row(service, "合计")
        # S1 即办件 on the spot; S2 承诺件 5 days, 09-18 → 09-22 = 3 working days (Sun 20 调休, 21, 22): early
        assert (s["completed"], s["on_spot_rate"], s["early_rate"], s["on_time_rate"]) == (2, 1.0, 1.0, 1.0)
        # promised 0 + 5 = 5, legal 20 + 20 = 40, taken 0 + 3 = 3: 1 - 5/40, 1 - 3/40
        assert (s["promise_speedup"], s["actual_speedup"], s["avg_days_promised"]) == (0.875, 0.925, 3.0)
        assert (s["rating_rate"], s["parallel"], s["co_handled"]) == (0.5, 1, 1)

        frozen = pg_store.publish(conn, petitions, "信访局统计科")
        pg_store.publish(conn, disclosure, "市政府办公室")
        with pytest.raises(pg_store.AlreadyPublished):
            pg_store.publish(conn, petitions, "信访局统计科")
        # docs/analysts.md's example query over the analysts' view
        assert query(url, ANALYST_QUERY) == [("letter", 1, 1), ("visit", 2, 8), ("total", 3, 9)]

        publish(settings, late_events())  # recorded after the cut, with times inside the periods
        consume(settings)

        live = build.petition_statistics(conn, q3, _now(url))
        assert (_row(live, "total")["batches"], _row(live, "total")["people"]) == (4, 14)  # + P5 of 5
        assert _row(live, "total")["collective_batches"] == 2
        live_disclosure = build.disclosure_annual(conn, year, _now(url))
        assert _row(live_disclosure, "unable_to_provide.not_held")["natural_person"] == 1  # R3, late
        assert _row(live_disclosure, "carried_forward")["total"] == 0

        # the cut again, after the late events: the same bytes as published
        again = build.petition_statistics(conn, q3, cut)
        assert again.canonical() == frozen.report.canonical()
        assert formats.to_csv(again) == formats.to_csv(frozen.report)
        assert build.disclosure_annual(conn, year, cut).canonical() == disclosure.canonical()
        read = pg_store.read(conn, "petitions", "2026-Q3")
        assert (read.report.canonical(), read.version, read.sha256) == (
            frozen.report.canonical(),
            1,
            frozen.sha256,
        )

        second = pg_store.publish(conn, live, "信访局统计科", new_version=True)  # a correction: version 2
        assert second.version == 2 and pg_store.read(conn, "petitions", "2026-Q3", 1).sha256 == frozen.sha256
    finally:
        conn.close()
    for statement in ("UPDATE casetrack.published_reports SET published_by = 'x'",
                      "DELETE FROM casetrack.published_reports"):  # fmt: skip
        with pytest.raises(psycopg2.Error, match="append-only"):
            query(url, statement)


def test_co_petitioners_are_sealed_each_under_their_own_key(reported: tuple[Settings, dt.datetime]) -> None:
    settings, _ = reported
    url = settings.database_url or ""
    stored = query(url, "SELECT data::text FROM casetrack.event_store WHERE subject = 'P1'")[0][0]
    for n in (1, 2, 3):
        assert f"申请人{n}" not in stored and f"1380000{n:04d}" not in stored
    rows = query(
        url, "SELECT person, erased FROM public.case_petitioners WHERE case_id = 'P1' ORDER BY person"
    )
    assert len({p for p, _ in rows}) == 3 and not any(erased for _, erased in rows)
    looked = run_cli(settings, ["officer-lookup", "P1"])  # a case officer opens all three
    assert looked.returncode == 0, looked.stderr
    assert all(f"name: 申请人{n}" in looked.stdout for n in (1, 2, 3))
    # the second co-petitioner asks to be forgotten: only their copy becomes unreadable
    forgot = run_cli(
        settings, ["forget", "--phone", "13800000003", "--requested-by", "信访办", "--reason", "request 7"]
    )
    assert forgot.returncode == 0, forgot.stderr
    rows = query(url, "SELECT erased FROM public.case_petitioners WHERE case_id = 'P1'")
    assert sorted(erased for (erased,) in rows) == [False, False, True]
    looked = run_cli(settings, ["officer-lookup", "P1"])
    assert "申请人3" not in looked.stdout and looked.stdout.count("(erased: this person was forgotten)") == 1


def test_cli_reports_publish_and_show(reported: tuple[Settings, dt.datetime]) -> None:
    settings, cut = reported
    as_of = cut.isoformat()
    run = run_cli(
        settings, ["report", "petitions", "--period", "2026-Q3", "--as-of", as_of, "--format", "csv"]
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("统计期 [bucket],信访形式 [channel]")
    assert lines[-1].split(",")[4:6] == ["3", "9"]  # total: 3 batches, 9 people

    published = run_cli(settings, ["report", "disclosure-annual", "--year", "2026", "--as-of", as_of,
                                   "--format", "json", "--publish", "--published-by", "市政府办公室"])  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert "published disclosure-annual 2026 version 1" in published.stderr
    shown = run_cli(settings, ["report", "show", "disclosure-annual", "--period", "2026", "--format", "json"])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == published.stdout
    assert json.loads(shown.stdout)["rows"][0][-1] == 3  # 一、本年新收申请数量 total
    again = run_cli(settings, ["report", "disclosure-annual", "--year", "2026", "--as-of", as_of, "--publish",
                               "--published-by", "市政府办公室"])  # fmt: skip
    assert again.returncode == 1 and "published already" in again.stderr
    bad = run_cli(settings, ["report", "petitions", "--period", "2026-Q5"])
    assert bad.returncode == 2 and "2026-Q3" in bad.stderr  # the message shows the accepted forms
    listed = run_cli(settings, ["report", "list"])
    assert "disclosure-annual\t2026\tv1" in listed.stdout


def test_a_cut_settles_before_a_writing_transaction_still_open(settings: Settings) -> None:
    """Events are stamped with their transaction's start; a cut after an open writer's start could change
    when it commits, so a publication's as-of moment is moved to just before it."""
    url = settings.database_url or ""
    writer, conn = psycopg2.connect(url), psycopg2.connect(url)
    try:
        with writer.cursor() as cur:
            cur.execute("SELECT txid_current(), now()")  # an open transaction holding an xid, as a consumer's
            row = cur.fetchone()
            assert row is not None
            started: dt.datetime = row[1]
        with conn:
            assert pg_facts.settled_as_of(conn, None) < started
            past = started - dt.timedelta(hours=1)
            assert pg_facts.settled_as_of(conn, past) == past  # an earlier cut is left alone
        writer.rollback()
        with conn:
            assert pg_facts.settled_as_of(conn, None) >= started
            future = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
            assert pg_facts.settled_as_of(conn, future) < future  # never later than now
    finally:
        writer.close()
        conn.close()


def test_a_reporter_login_computes_and_publishes(
    reported: tuple[Settings, dt.datetime],
    login_in: Callable[[str], str],  # noqa: F811 - the fixture imported above
) -> None:
    """The role ``casetrack_reporter`` is enough to run every report and to publish one."""
    settings, _ = reported
    reporter = settings.model_copy(update={"database_url": login_in("casetrack_reporter")})
    for kind in ("service-centre", "disclosure-annual"):
        run = run_cli(reporter, ["report", kind, "--period", "2026", "--format", "json"])
        assert run.returncode == 0, run.stderr
    run = run_cli(
        reporter, ["report", "petitions", "--period", "2026-Q3", "--publish", "--published-by", "统计科"]
    )
    assert run.returncode == 0, run.stderr
    assert run_cli(reporter, ["report", "show", "petitions", "--period", "2026-Q3"]).returncode == 0
