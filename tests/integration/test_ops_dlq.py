"""``casetrack dlq``: a bad event goes to the DLQ, is fixed, re-published and projected exactly once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg2

from app.settings import Settings
from consumers.dlq import REASON, SOURCE
from ops.dlq_tool import discard, list_letters, republish, select_pending
from tests.conftest import endpoints
from tests.factories import case_stream
from tests.integration.helpers import consume, publish, publish_raw, query
from tests.integration.ops_support import run_cli


def test_bad_event_fixed_republished_and_projected_once(settings: Settings, tmp_path: Path) -> None:
    url = settings.database_url or ""
    events = case_stream(3)
    target = next(e for e in events if e.type == "case.assigned")
    broken = target.wire()
    department = broken["data"].pop("department")  # upstream forgot a required field
    publish(settings, [e for e in events if e.id != target.id])
    t = settings.topics.case
    publish_raw(settings, [(t, target.subject.encode(), json.dumps(broken, ensure_ascii=False).encode(), [])])
    assert consume(settings).dead_letters == 1

    listed = run_cli(settings, ["dlq", "list", "--json"])
    assert listed.returncode == 0, listed.stderr
    (letter,) = json.loads(listed.stdout)
    assert letter["reason"] == "schema_violation" and letter["state"] == "pending"
    source = letter["source"]

    shown = run_cli(settings, ["dlq", "show", source])
    assert shown.returncode == 0, shown.stderr
    assert f"{REASON}: schema_violation" in shown.stdout and f"{SOURCE}: {source}" in shown.stdout
    assert "--value" in shown.stdout and target.subject not in shown.stdout.split("headers:")[1]
    shown = run_cli(settings, ["dlq", "show", source, "--value"])
    assert json.loads(shown.stdout.split("value:\n", 1)[1])["id"] == target.id

    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(target.wire(), ensure_ascii=False))
    sent = run_cli(settings, ["dlq", "republish", source, "--file", str(fixed)])
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert f"sent {source} -> {t}/" in sent.stdout

    totals = consume(settings)
    assert (totals.applied, totals.duplicates, totals.dead_letters) == (1, 0, 0)
    assert query(url, "SELECT department FROM case_status WHERE case_id = %s", (target.subject,)) == [
        (department,)
    ]
    assert list_letters(url) == []
    (done,) = list_letters(url, state="republished")
    assert done.republished_at is not None and (done.republished_as or "").startswith(t + "/")

    # Once handled, a letter is not sent again unless asked; sent again, it is a duplicate.
    again = run_cli(settings, ["dlq", "republish", source, "--file", str(fixed)])
    assert "sent 0 of 1 selected (1 already handled" in again.stdout
    again = run_cli(settings, ["dlq", "republish", source, "--file", str(fixed), "--again"])
    assert again.returncode == 0, again.stderr
    totals = consume(settings)
    assert (totals.applied, totals.duplicates) == (0, 1)
    assert query(url, "SELECT count(*) FROM casetrack.event_store WHERE event_id = %s", (target.id,)) == [
        (1,)
    ]


def test_bulk_republish_after_an_upstream_fix_and_discard(settings: Settings) -> None:
    """Letters refused by an older casetrack (here: a v1 event before its upcaster existed) are re-sent as
    they were; letters the current codec still refuses are reported, not sent, and can be discarded."""
    url = settings.database_url or ""
    t = settings.topics.case
    events = case_stream(2)
    publish(settings, events)
    consume(settings)
    subject = events[0].subject
    v1 = {
        "specversion": "1.0", "id": "ext-v1-1", "source": "test/hotline", "type": "case.extended",
        "subject": subject, "time": "2026-10-14T09:00:00+08:00", "schemaversion": 1,
        "data": {"extra_days": 5, "reason": "情况复杂"},
    }  # fmt: skip
    old_letter = (7, 999)  # where the old deployment read it
    at = dt.datetime.now(dt.UTC)
    publish_raw(
        settings,
        [
            (
                f"{t}.dlq",
                subject.encode(),
                json.dumps(v1, ensure_ascii=False).encode(),
                [(REASON, b"unsupported_version"), (SOURCE, f"{t}/7/999".encode())],
            ),
            (t, b"k", b"{garbage", []),
        ],
    )
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            'INSERT INTO casetrack.dead_letters (topic, partition, "offset", reason, detail, dead_lettered_at)'
            " VALUES (%s, %s, %s, 'unsupported_version', 'case.extended v1 is older than v2', %s)",
            (t, *old_letter, at),
        )
    conn.close()
    assert consume(settings).dead_letters == 1  # the garbage

    ep = endpoints(settings)
    report = republish(settings, ep, select_pending(url, t, "unsupported_version", None))
    assert list(report.sent) == [(t, 7, 999)] and not report.still_invalid and not report.missing
    totals = consume(settings)
    assert (totals.applied, totals.dead_letters) == (1, 0)
    assert query(url, "SELECT extension_count FROM case_status WHERE case_id = %s", (subject,)) == [(1,)]

    garbage = select_pending(url, None, "invalid_json", None)
    report = republish(settings, ep, garbage)
    assert list(report.still_invalid) == garbage and not report.sent
    assert report.still_invalid[garbage[0]].startswith("invalid_json")
    assert discard(url, garbage, "not an event: test garbage") == 1
    assert list_letters(url) == []
    (gone,) = list_letters(url, state="discarded")
    assert gone.resolution == "not an event: test garbage"
