"""``casetrack demo`` end to end: the real CLI in a subprocess, on the session's broker and PostgreSQL.

A small demo (a few days, a few dozen cases a day) runs once for the module. Its printed tables are read back and
checked against the projections, queried directly (mostly from ``case_status`` and the other views, not through
:mod:`casetrack.figures`). A second run must be as clean as the first. The HTML report is rendered in headless
Chromium where it is installed (Debian package ``chromium``), and skipped with a message where it is not.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaAdminClient

from app.embedded import with_database
from casetrack.demo import DemoError, database_url, recreate_database
from casetrack.figures import CHANNELS
from tests.integration.helpers import query as q

DAYS, CASES_PER_DAY = 6, 60
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class DemoRun:
    output: str
    url: str
    report: Path


def run_demo(broker: str, pg_admin: str, database: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    env.update(
        CASETRACK_KAFKA_BOOTSTRAP=broker,
        CASETRACK_DATABASE_URL=pg_admin,
        COLUMNS="220",  # wide enough that no table cell is cut short
        PYTHONUNBUFFERED="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "casetrack.cli", "--data-dir", str(workdir), "demo", "--days", str(DAYS),
         "--cases-per-day", str(CASES_PER_DAY), "--database", database, "--report", str(workdir / "report.html")],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def _drop(pg_admin: str, database: str) -> None:
    conn = psycopg2.connect(pg_admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="module")
def demo_runs(
    broker: str, pg_admin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DemoRun, DemoRun]]:
    """The demo run twice into the same database: (first, second)."""
    database = f"t_demo_{uuid.uuid4().hex[:10]}"
    runs = []
    try:
        for i in range(2):
            work = tmp_path_factory.mktemp(f"demo{i}")
            proc = run_demo(broker, pg_admin, database, work)
            assert proc.returncode == 0, (
                f"casetrack demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
            runs.append(DemoRun(proc.stdout, database_url(pg_admin, database), work / "report.html"))
        yield runs[0], runs[1]
    finally:
        _drop(pg_admin, database)


@pytest.fixture(scope="module")
def demo(demo_runs: tuple[DemoRun, DemoRun]) -> DemoRun:
    return demo_runs[1]


# -- reading the printed tables back ------------------------------------------------------------------------
def table(output: str, title: str) -> list[list[str]]:
    """The body rows of the rich table titled ``title`` (cells stripped; section lines skipped)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
    body = next(i for i in range(start, len(lines)) if lines[i].startswith("┡"))
    rows = []
    for line in lines[body + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            rows.append([c.strip() for c in line.strip().strip("│").split("│")])
    return rows


def caption(output: str, title: str) -> str:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    out = []
    for line in lines[end + 1 :]:  # a long caption wraps over several lines, up to the blank line
        if not line.strip():
            break
        out.append(line.strip())
    return " ".join(out)


def n(cell: str) -> int:
    return int(cell.replace(",", ""))


def pct(part: int, whole: int) -> str:
    return "—" if whole == 0 else f"{part / whole * 100:.2f}%"


def by_label(rows: list[list[str]]) -> dict[str, list[str]]:
    return {r[0]: r for r in rows}


# -- the figures --------------------------------------------------------------------------------------------
def test_overview_matches_case_status(demo: DemoRun) -> None:
    rows = by_label(table(demo.output, "概览 Overview"))
    # Resolutions are counted per 重办 cycle (case_cycles); the completion rate counts cases resolved at least once.
    ((received, ever_resolved, open_, yellow, red),) = q(
        demo.url,
        """SELECT count(*), count(*) FILTER (WHERE resolved_at IS NOT NULL OR reopen_count > 0),
                  count(*) FILTER (WHERE resolved_at IS NULL AND status NOT IN ('rejected', 'merged')),
                  count(*) FILTER (WHERE resolved_at IS NULL AND warning_level = 'yellow'),
                  count(*) FILTER (WHERE resolved_at IS NULL AND warning_level = 'red')
           FROM case_status""",
    )
    ((resolved, on_time),) = q(
        demo.url,
        "SELECT count(*) FILTER (WHERE resolved_at IS NOT NULL),"
        " count(*) FILTER (WHERE resolved_at IS NOT NULL AND on_time) FROM case_cycles",
    )
    assert received > DAYS * CASES_PER_DAY * 0.6
    assert n(rows["受理 Cases received"][1]) == received
    assert n(rows["办结 Resolved"][1]) == resolved
    assert rows["办结率 Completion rate"][1] == pct(ever_resolved, received)
    assert rows["按时办结率 On-time rate"][1] == pct(on_time, resolved)
    assert n(rows["在办 Open cases"][1]) == open_
    assert n(rows["在办黄牌 Open, yellow"][1]) == yellow
    assert n(rows["在办红牌 Open, red (overdue)"][1]) == red
    assert open_ > 0 and resolved > 0  # a month cut at "now": some cases done, some still open


def test_intake_by_channel_matches_case_status(demo: DemoRun) -> None:
    rows = table(demo.output, "受理渠道 Intake by channel")
    # resolutions and on-time resolutions per 重办 cycle; the completion rate counts cases resolved at least once
    expected = {
        ch: (received, ever, resolved, on_time)
        for ch, received, ever, resolved, on_time in q(
            demo.url,
            """SELECT c.channel, count(*) FILTER (WHERE k.current),
                      count(*) FILTER (WHERE k.current AND (c.resolved_at IS NOT NULL OR c.reopen_count > 0)),
                      count(*) FILTER (WHERE k.resolved_at IS NOT NULL),
                      count(*) FILTER (WHERE k.resolved_at IS NOT NULL AND k.on_time)
               FROM case_cycles k JOIN case_status c USING (case_id) GROUP BY c.channel""",
        )
    }
    label = {f"{zh} {en}": ch for ch, (zh, en) in CHANNELS.items()}
    printed = {label[r[0]]: r for r in rows if not r[0].startswith("合计")}
    assert printed.keys() == expected.keys()  # every channel that received a case, and nothing else
    for channel, (received, ever, resolved, on_time) in expected.items():
        r = printed[channel]
        assert (n(r[1]), n(r[3])) == (received, resolved), channel
        assert r[4:6] == [pct(ever, received), pct(on_time, resolved)], channel
    total = by_label(rows)["合计 Total"]
    assert n(total[1]) == sum(v[0] for v in expected.values())
    assert n(total[3]) == sum(v[2] for v in expected.values())


def test_department_rates_match_the_views(demo: DemoRun) -> None:
    rows = table(demo.output, "部门办理 Completion")
    expected = {
        (d if d is not None else "(未分派) (unassigned)"): r
        for d, *r in q(
            demo.url,
            """SELECT department, sum(received), sum(received_resolved), sum(resolved_on_time), sum(resolved),
                      sum(satisfied), sum(rated)
               FROM completion_rates GROUP BY department""",
        )
    }
    named = [r for r in rows if not r[0].startswith(("其余", "合计"))]
    assert 5 <= len(named) <= 15
    for r in named:
        received, received_resolved, on_time, resolved, satisfied, rated = expected[r[0]]
        assert (n(r[1]), n(r[2])) == (received, received_resolved), r[0]
        assert r[3:6] == [pct(received_resolved, received), pct(on_time, resolved), pct(satisfied, rated)], r[
            0
        ]
    busiest = sorted((v[0] for v in expected.values()), reverse=True)[: len(named)]
    assert [n(r[1]) for r in named] == busiest
    total = by_label(rows)["合计 Total"]
    assert n(total[1]) == q(demo.url, "SELECT count(*) FROM case_status")[0][0]


def test_petition_tallies_match_the_view(demo: DemoRun) -> None:
    rows = by_label(table(demo.output, "信访 Petition tallies"))
    for channel, label in (("letter", "来信 Petition letter"), ("visit", "来访 Petition visit"),
                           ("online_petition", "网上信访 Online petition")):  # fmt: skip
        ((received, accepted, rejected, done, repeat),) = q(
            demo.url,
            """SELECT coalesce(sum(received), 0), coalesce(sum(accepted), 0), coalesce(sum(rejected), 0),
                      coalesce(sum(received_resolved), 0), coalesce(sum(repeat_petitions), 0)
               FROM petition_tallies WHERE channel = %s""",
            (channel,),
        )
        if received == 0:
            assert label not in rows
            continue
        (direct,) = q(demo.url, "SELECT count(*) FROM case_status WHERE channel = %s", (channel,))[0]
        assert received == direct
        r = rows[label]
        assert [n(c) for c in (r[1], r[2], r[3], r[4], r[7])] == [received, accepted, rejected, done, repeat]


def test_supervision_and_rectification_match_the_views(demo: DemoRun) -> None:
    ((issued, completed, open_, overdue),) = q(
        demo.url,
        """SELECT count(*), count(*) FILTER (WHERE status = 'completed'),
                  count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled')),
                  count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled') AND overdue)
           FROM supervision_orders""",
    )
    assert issued > 0
    text = caption(demo.output, "督办 Overdue supervision orders")
    assert text.startswith(f"{issued:,} orders issued: {completed:,} completed")
    assert f"{open_:,} open of which {overdue:,} overdue" in text
    printed = [r[0] for r in table(demo.output, "督办 Overdue supervision orders") if r[0] != "(none)"]
    assert len(printed) == min(overdue, 10)
    rect = by_label(table(demo.output, "整改 Rectification progress"))
    ((items, verified, rect_overdue),) = q(
        demo.url,
        "SELECT count(*), count(*) FILTER (WHERE status = 'verified'), count(*) FILTER (WHERE overdue)"
        " FROM rectification_items",
    )
    total = rect["合计 Total"]
    assert (n(total[1]), n(total[2]), n(total[5])) == (items, verified, rect_overdue)


def test_scorecard_matches_the_view(demo: DemoRun) -> None:
    rows = table(demo.output, "红黄牌 Yellow/red scorecard")
    expected = q(
        demo.url,
        """SELECT coalesce(department, '(未分派) (unassigned)'), sum(cases_handled), sum(yellow_count),
                  sum(red_count), sum(overdue_supervision_orders), sum(overdue_rectification_items),
                  sum(penalty_score)
           FROM department_scorecard GROUP BY department
           ORDER BY sum(penalty_score), sum(red_count) DESC, department NULLS LAST LIMIT 15""",
    )
    assert [r[0] for r in rows] == [e[0] for e in expected]
    for r, e in zip(rows, expected, strict=True):
        assert [n(c) for c in r[1:6]] == [int(v) for v in e[1:6]]
        assert float(r[6]) == float(e[6])
    # the heat map's attribution is the scorecard's: the same yellow and red totals
    ((yellow, red),) = q(demo.url, "SELECT sum(yellow_count), sum(red_count) FROM department_scorecard")
    assert yellow + red > 0


def test_pipeline_accounting_adds_up(demo: DemoRun) -> None:
    rows = by_label(table(demo.output, "管道核对 Pipeline accounting"))
    ((consumed, applied),) = q(
        demo.url,
        "SELECT (SELECT sum(next_offset) FROM casetrack.tracking), (SELECT count(*) FROM casetrack.event_store)",
    )
    reasons = dict(q(demo.url, "SELECT reason, count(*) FROM casetrack.dead_letters GROUP BY reason"))
    assert n(rows["发布 Published"][1]) == consumed  # everything published was consumed, nothing else
    assert n(rows["消费 Consumed"][1]) == consumed
    assert n(rows["入库 Applied"][1]) == applied
    assert n(rows["死信 Dead-lettered"][1]) == sum(reasons.values())
    assert n(rows["重复 Duplicates"][1]) == consumed - applied - sum(reasons.values())
    for reason, count in reasons.items():
        assert n(rows[f"· {reason}"][1]) == count
    published = rows["发布 Published"][2]
    m = re.match(r"([\d,]+) events .*?, ([\d,]+) duplicates, ([\d,]+) malformed", published)
    assert m is not None, published
    assert n(m.group(1)) == applied and n(m.group(3)) == sum(reasons.values())


def test_a_second_run_is_as_clean_as_the_first(demo_runs: tuple[DemoRun, DemoRun], broker: str) -> None:
    first, second = demo_runs
    assert re.search(r"removed \d+ topics of earlier runs", second.output)
    old_topic = re.search(r"topics (casetrack-demo\.\S+\.gov\.case\.events)", first.output)
    new_topic = re.search(r"topics (casetrack-demo\.\S+\.gov\.case\.events)", second.output)
    assert old_topic and new_topic and old_topic.group(1) != new_topic.group(1)
    admin = KafkaAdminClient(bootstrap_servers=broker)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    assert old_topic.group(1) not in topics and new_topic.group(1) in topics
    # the same seed and days: the same month, and only one copy of it in the database
    assert (
        table(first.output, "受理渠道 Intake by channel")[0][1]
        == table(second.output, "受理渠道 Intake by channel")[0][1]
    )
    (dupes,) = q(second.url, "SELECT count(*) - count(DISTINCT case_id) FROM case_status")[0]
    assert dupes == 0


def test_printed_hints(demo: DemoRun) -> None:
    assert f"Report 报告  {demo.report.as_uri()}" in demo.output
    assert "psql" in demo.output and "completion_rates" in demo.output
    assert "casetrack serve" in demo.output and "CASETRACK_TOPICS__CASE=casetrack-demo." in demo.output


def test_refuses_to_drop_a_database_it_did_not_make(pg_admin: str) -> None:
    name = f"t_notdemo_{uuid.uuid4().hex[:8]}"
    with_database(pg_admin, name)
    try:
        with pytest.raises(DemoError, match="was not made by `casetrack demo`"):
            recreate_database(pg_admin, name)
        assert q(pg_admin, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)) == [(1,)]
    finally:
        _drop(pg_admin, name)


# -- the report ---------------------------------------------------------------------------------------------
def test_report_is_one_self_contained_file(demo: DemoRun) -> None:
    html = demo.report.read_text(encoding="utf-8")
    assert html.count("<svg") >= 4  # trend, channels, ranking, heat map
    assert "<script" not in html and not re.search(r"""(src|href)=["']https?://""", html)
    ((received,),) = q(demo.url, "SELECT count(*) FROM case_status")
    assert f"{received:,}" in html
    for heading in ("每日受理量与按时办结率", "部门按时办结率排名", "预警热力图", "红黄牌计分", "管道核对"):
        assert heading in html
    for figure in ("现场办结率", "承诺件提前办结率", "实际办理提速", "测评率", "并联审批件", "集体访批次", "越级访人次",
                   "多名信访人件数", "一、本年新收申请数量", "(三)不予公开 4.保护第三方合法权益"):  # fmt: skip
        assert figure in html  # the office reports (casetrack report) of the demo's days


def test_report_renders_in_headless_chromium(demo: DemoRun, tmp_path: Path) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (Debian: apt-get install chromium fonts-noto-cjk)")
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1400,2400",
         demo.report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2400)
    assert len(data) > 60_000  # charts and text, not a blank page
    keep = os.environ.get(
        "CASETRACK_DEMO_SCREENSHOT"
    )  # where to keep a copy to look at, e.g. in CI artifacts
    if keep:
        shutil.copyfile(shot, keep)


def test_chromium_has_a_cjk_font() -> None:
    """Without a CJK font, Chromium draws the report's Chinese labels as empty boxes."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (Debian: apt-get install chromium fonts-noto-cjk)")
    if shutil.which("fc-list") is None:
        pytest.skip("fc-list (Debian: fontconfig) is not installed, so the fonts cannot be checked")
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=60
    ).stdout
    assert found.strip(), (
        "no Chinese font: the report would show boxes (Debian: apt-get install fonts-noto-cjk)"
    )


def test_penalty_items_reconcile_with_the_scorecard(demo: DemoRun) -> None:
    # Issue 14: one row per card in penalty_items; summed by department and month they are the scorecard.
    from tests.integration.figures_support import scorecard_reconciles

    assert scorecard_reconciles(demo.url) > 0
    ((items, cards),) = q(
        demo.url,
        "SELECT (SELECT sum(points) FROM penalty_items), (SELECT sum(penalty_score) FROM department_scorecard)",
    )
    assert items == cards and items < 0


def test_office_reports_by_the_cli_on_the_demo_data(demo: DemoRun, broker: str) -> None:
    """``casetrack report`` on the demo's database: every report, its totals consistent with the views."""
    from tests.integration.ops_support import run_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    env.update(CASETRACK_KAFKA_BOOTSTRAP=broker, CASETRACK_DATABASE_URL=demo.url)
    ((first, last),) = q(
        demo.url,
        "SELECT min(received_at AT TIME ZONE 'Asia/Shanghai')::date, max(received_at AT TIME ZONE 'Asia/Shanghai')::date"
        " FROM case_status",
    )
    period = f"{first}..{last}"
    out: dict[str, list[list[str]]] = {}
    for kind in ("service-centre", "petitions", "disclosure-annual"):
        proc = run_env(env, ["report", kind, "--period", period, "--format", "csv"])
        assert proc.returncode == 0, proc.stderr
        out[kind] = list(csv.reader(io.StringIO(proc.stdout.lstrip("\ufeff"))))
    petitions_total = out["petitions"][-1]
    ((petitions,),) = q(
        demo.url, "SELECT count(*) FROM case_status WHERE channel IN ('letter', 'visit', 'online_petition')"
    )
    assert int(petitions_total[4]) == petitions and int(petitions_total[5]) >= petitions  # 批次, 人次
    rows = {r[0]: [int(v) for v in r[2:]] for r in out["disclosure-annual"][1:]}
    for col in range(len(rows["new"])):  # 一 + 二 = 三(七) + 四 in every column
        assert (
            rows["new"][col] + rows["carried_over"][col]
            == rows["outcome_total"][col] + rows["carried_forward"][col]
        )
    ((requests,),) = q(demo.url, "SELECT count(*) FROM case_status WHERE channel = 'disclosure_request'")
    assert rows["new"][-1] == requests
    service_total = out["service-centre"][-1]
    assert service_total[:2] == ["合计", "合计"] and int(service_total[3]) > 0  # applications completed
