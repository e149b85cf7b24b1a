"""Frozen reports in ``casetrack.published_reports``: the SQL of publishing, reading and listing them (an adapter;
the record and the errors are :mod:`reports.store`).

Publishing stores the report's canonical JSON (``content_text``), its SHA-256 (checked by the table itself),
the as-of moment and who published it. The table is append-only. Publishing the same kind, period and
parameters again is refused (:class:`~reports.store.AlreadyPublished`, also when the table's own uniqueness
refuses it), unless a new version is asked for explicitly (a correction); the earlier version stays, and
reading without a version gives the latest. See docs/analysts.md, 'Reports'.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import psycopg2.errors

from reports.pg_reads import Connection
from reports.store import AlreadyPublished, NotPublished, Published
from reports.table import Report

__all__ = ["AlreadyPublished", "NotPublished", "Published", "listing", "publish", "read"]


def publish(conn: Connection, report: Report, published_by: str, new_version: bool = False) -> Published:
    """Freeze ``report``; raises :class:`AlreadyPublished` if it exists and ``new_version`` is false."""
    text = report.canonical()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    params = json.dumps(dict(sorted(report.params.items())))
    with conn, conn.cursor() as cur:
        # one publisher at a time per (kind, period): the version number is read and used under the lock
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"report:{report.kind}:{report.period}",))
        cur.execute(
            "SELECT coalesce(max(version), 0) FROM casetrack.published_reports"
            " WHERE kind = %s AND period = %s AND params = %s::jsonb",
            (report.kind, report.period, params),
        )
        row = cur.fetchone()
        latest = int(row[0]) if row else 0
        if latest and not new_version:
            raise AlreadyPublished(
                f"{report.kind} {report.period} is published already (version {latest}); read it with "
                "`casetrack report show`, or publish a correction with --new-version"
            )
        try:
            cur.execute(
                "INSERT INTO casetrack.published_reports (kind, period, period_start, period_end, as_of, params,"
                " version, content, content_text, sha256, published_by)"
                " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s::jsonb, %s, %s, %s)"
                " RETURNING report_id, published_at",
                (report.kind, report.period, report.period_start, report.period_end, report.as_of, params,
                 latest + 1, text, text, digest, published_by),
            )  # fmt: skip
        except psycopg2.errors.UniqueViolation as exc:  # (kind, period, params, version) is taken
            raise AlreadyPublished(
                f"{report.kind} {report.period} version {latest + 1} is published already"
            ) from exc
        out = cur.fetchone()
        assert out is not None
    return Published(int(out[0]), latest + 1, digest, out[1], published_by, report)


def read(conn: Connection, kind: str, period: str, version: int | None = None) -> Published:
    """The frozen report (latest version unless one is given), exactly as published; its checksum is verified.
    Where the period was published with different options, the most recent publication of that version."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT report_id, version, sha256, published_at, published_by, content_text"
            " FROM casetrack.published_reports WHERE kind = %s AND period = %s"
            " AND (%s::integer IS NULL OR version = %s::integer)"
            " ORDER BY version DESC, report_id DESC LIMIT 1",
            (kind, period, version, version),
        )
        row = cur.fetchone()
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise NotPublished(f"no published {kind} report for {period}{which}")
    report_id, ver, digest, at, by, text = row
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
        raise RuntimeError(f"published report {report_id} fails its checksum")  # tampering or corruption
    return Published(int(report_id), int(ver), digest, at, by, Report.from_json(json.loads(text)))


def listing(conn: Connection) -> list[tuple[int, str, str, int, dt.datetime, dt.datetime, str, str, str]]:
    """(id, kind, period, version, as_of, published_at, published_by, sha256, params) of every frozen report."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT report_id, kind, period, version, as_of, published_at, published_by, sha256, params::text"
            " FROM casetrack.published_reports ORDER BY kind, period, report_id"
        )
        return list(cur.fetchall())
