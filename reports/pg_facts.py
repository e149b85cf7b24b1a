"""The event store as of a moment: the SQL behind every report (an adapter; the rows are :mod:`reports.facts`, the
figures are computed in :mod:`reports.disclosure`, :mod:`reports.petitions` and :mod:`reports.service_centre`).

"As of" means **recorded by** (see :mod:`reports.facts`). The statements are set-based over
``casetrack.event_store`` (one scan, no re-fold of every event in Python); free text and personal data
(``summary``, ``reply_summary``, ``note``, ``reason``, petitioners) never leave the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reports.facts import CaseEvent, PetitionCount, ServiceFacts
from reports.pg_reads import Connection

#: payload keys a report never needs (free text, personal data)
_DROPPED = ("petitioner", "co_petitioners", "summary", "reply_summary", "note", "reason", "approved_by")


_HISTORIES = """
WITH cases AS (
    SELECT DISTINCT r.subject
    FROM casetrack.event_store r
    WHERE r.aggregate = 'case' AND r.type = 'case.received' AND r.data ->> 'channel' = %(channel)s
      AND r.stored_at <= %(as_of)s AND r.time < %(end_at)s
)
SELECT e.subject, e.type, e.time, e.event_id,
       e.data - %(dropped)s::text[] AS data,
       jsonb_array_length(coalesce(e.data -> 'co_petitioners', '[]'::jsonb)) AS co_petitioners
FROM casetrack.event_store e
JOIN cases c ON c.subject = e.subject
WHERE e.aggregate = 'case' AND e.stored_at <= %(as_of)s AND e.time < %(end_at)s AND e.type = ANY(%(types)s)
ORDER BY e.subject, e.time, e.event_id
"""


def case_histories(
    conn: Connection, channel: str, as_of: dt.datetime, end_at: dt.datetime, types: Sequence[str]
) -> dict[str, list[CaseEvent]]:
    """The events of ``types`` of every ``channel`` case received before ``end_at``, each case's in (time, id)
    order, counting only events recorded by ``as_of`` and happened before ``end_at``."""
    params = {
        "channel": channel,
        "as_of": as_of,
        "end_at": end_at,
        "types": list(types),
        "dropped": list(_DROPPED),
    }
    out: dict[str, list[CaseEvent]] = {}
    with conn.cursor() as cur:
        cur.execute(_HISTORIES, params)
        for subject, etype, time, event_id, data, co in cur:
            if co:
                data["co_petitioner_count"] = co
            out.setdefault(subject, []).append(CaseEvent(etype, time, event_id, data))
    return out


_PETITIONS = """
SELECT CASE WHEN %(split)s = 'none' THEN NULL
            ELSE date_trunc(%(split)s, r.time AT TIME ZONE 'Asia/Shanghai')::date END AS bucket,
       r.data ->> 'channel' AS channel,
       coalesce(r.data ->> 'region', '') AS region,
       count(*) AS batches,
       sum(p.people) AS people,
       count(*) FILTER (WHERE p.people >= %(collective)s) AS collective_batches,
       coalesce(sum(p.people) FILTER (WHERE p.people >= %(collective)s), 0) AS collective_people,
       count(*) FILTER (WHERE (r.data ->> 'skip_level')::boolean) AS skip_level_batches,
       coalesce(sum(p.people) FILTER (WHERE (r.data ->> 'skip_level')::boolean), 0) AS skip_level_people,
       count(*) FILTER (WHERE jsonb_array_length(coalesce(r.data -> 'co_petitioners', '[]'::jsonb)) > 0)
           AS several_petitioners
FROM casetrack.event_store r
CROSS JOIN LATERAL (
    SELECT coalesce((r.data ->> 'headcount')::integer,
                    1 + jsonb_array_length(coalesce(r.data -> 'co_petitioners', '[]'::jsonb))) AS people
) p
WHERE r.aggregate = 'case' AND r.type = 'case.received' AND r.data ->> 'channel' = ANY(%(channels)s)
  AND r.stored_at <= %(as_of)s AND r.time >= %(start_at)s AND r.time < %(end_at)s
GROUP BY 1, 2, 3
ORDER BY 1 NULLS FIRST, 2, 3
"""


def petition_counts(
    conn: Connection,
    channels: Sequence[str],
    as_of: dt.datetime,
    start_at: dt.datetime,
    end_at: dt.datetime,
    split: str,
    collective: int,
) -> list[PetitionCount]:
    """批次 and 人次 of the petitions received in ``[start_at, end_at)`` as recorded by ``as_of``; a petition
    of ``collective`` people or more is a 集体访. ``split``: none, week, month or quarter."""
    params = {
        "channels": list(channels),
        "as_of": as_of,
        "start_at": start_at,
        "end_at": end_at,
        "split": split,
        "collective": collective,
    }
    with conn.cursor() as cur:
        cur.execute(_PETITIONS, params)
        return [PetitionCount(row[0], row[1], row[2], *(int(v) for v in row[3:])) for row in cur]


_SERVICE = """
WITH apps AS (
    SELECT r.subject, r.time AS received_at, r.data ->> 'category' AS matter,
           (r.data ->> 'time_limit_days')::integer AS promise, (r.data ->> 'legal_time_limit_days')::integer AS legal
    FROM casetrack.event_store r
    WHERE r.aggregate = 'case' AND r.type = 'case.received' AND r.data ->> 'channel' = 'service_center'
      AND r.stored_at <= %(as_of)s AND r.time < %(end_at)s
), done AS (
    SELECT DISTINCT ON (e.subject) e.subject, e.time AS resolved_at, e.data ->> 'department' AS department
    FROM casetrack.event_store e
    JOIN apps a ON a.subject = e.subject
    WHERE e.aggregate = 'case' AND e.type = 'case.resolved' AND e.stored_at <= %(as_of)s AND e.time < %(end_at)s
    ORDER BY e.subject, e.time, e.event_id
)
SELECT a.received_at, a.matter, a.promise, a.legal, d.resolved_at, d.department,
       (SELECT s.data -> 'co_departments' FROM casetrack.event_store s
        WHERE s.aggregate = 'case' AND s.subject = a.subject AND s.type = 'case.assigned'
          AND s.stored_at <= %(as_of)s AND s.time <= d.resolved_at
        ORDER BY s.time DESC, s.event_id DESC LIMIT 1) AS co_departments,
       EXISTS (SELECT 1 FROM casetrack.event_store f
               WHERE f.aggregate = 'case' AND f.subject = a.subject AND f.type = 'case.followed_up'
                 AND f.stored_at <= %(as_of)s AND f.time < %(end_at)s
                 AND f.data ->> 'satisfaction' <> 'unreachable') AS rated
FROM apps a
JOIN done d ON d.subject = a.subject
WHERE d.resolved_at >= %(start_at)s
"""


def service_applications(
    conn: Connection, as_of: dt.datetime, start_at: dt.datetime, end_at: dt.datetime
) -> list[ServiceFacts]:
    """The service-centre applications first resolved in ``[start_at, end_at)`` as recorded by ``as_of``."""
    params = {"as_of": as_of, "start_at": start_at, "end_at": end_at}
    with conn.cursor() as cur:
        cur.execute(_SERVICE, params)
        return [
            ServiceFacts(received, matter, promise, legal, resolved, dept, tuple(co or ()), bool(rated))
            for received, matter, promise, legal, resolved, dept, co, rated in cur
        ]


_OPEN_WRITERS = """
SELECT min(xact_start) FROM pg_stat_activity
WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()
"""


def settled_as_of(conn: Connection, requested: dt.datetime | None) -> dt.datetime:
    """The moment a report can be cut at and reproduced later: ``requested`` (default: now), but never later
    than now, nor at or after the start of a writing transaction still open (its events will carry that
    ``stored_at`` once committed, so a cut after it would change when it commits)."""
    with conn.cursor() as cur:
        cur.execute("SELECT now(), clock_timestamp()")
        row = cur.fetchone()
        assert row is not None
        now: dt.datetime = row[1]
        cur.execute(_OPEN_WRITERS)
        writer = cur.fetchone()
    moment = now if requested is None else min(requested, now)
    oldest: dt.datetime | None = writer[0] if writer else None
    if oldest is not None and oldest <= moment:
        moment = oldest - dt.timedelta(microseconds=1)
    return moment
