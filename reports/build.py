"""Each report computed from the event store as of a moment: the facts (:mod:`reports.pg_facts`) through the
figures (:mod:`reports.disclosure`, :mod:`reports.petitions`, :mod:`reports.service_centre`)."""

from __future__ import annotations

import datetime as dt

from events.data import PETITION_CHANNELS
from projections.policy import DEFAULT_LEGAL_LIMIT, DeadlinePolicy
from reports import disclosure, petitions, pg_facts, service_centre
from reports.periods import Period
from reports.pg_reads import Connection
from reports.service_centre import WorkingDays
from reports.table import Report

KINDS = ("disclosure-annual", "petitions", "service-centre")


def default_legal_limit(policy: DeadlinePolicy) -> int:
    """The legal limit of a service-centre matter whose ``case.received`` names none: the policy's
    ``legal_limit`` for ``service_center``, else 20 working days (as the case fold's promise check)."""
    legal = policy.rule("service_center").legal_limit
    return DEFAULT_LEGAL_LIMIT if legal is None else int(legal)


def disclosure_annual(conn: Connection, period: Period, as_of: dt.datetime) -> Report:
    """政府信息公开工作年度报告's request table for ``period`` as recorded by ``as_of``."""
    with conn:
        histories = pg_facts.case_histories(
            conn, "disclosure_request", as_of, period.end_at, disclosure.TYPES
        )
    return disclosure.annual_report(histories, period, as_of)


def petition_statistics(
    conn: Connection, period: Period, as_of: dt.datetime, split: str = "none",
    collective: int = petitions.COLLECTIVE,
) -> Report:  # fmt: skip
    """批次 / 人次 / 集体访 / 越级访 of the petitions received in ``period`` as recorded by ``as_of``."""
    with conn:
        counts = pg_facts.petition_counts(
            conn, sorted(PETITION_CHANNELS), as_of, period.start_at, period.end_at, split, collective
        )
    return petitions.petition_report(counts, period, as_of, split, collective)


def service_centre_figures(
    conn: Connection, period: Period, as_of: dt.datetime, calendar: WorkingDays, default_legal: int,
    by_matter: bool = True, split: str = "none",
) -> Report:  # fmt: skip
    """Service-centre figures of the applications completed in ``period`` as recorded by ``as_of``."""
    with conn:
        applications = pg_facts.service_applications(conn, as_of, period.start_at, period.end_at)
    return service_centre.service_report(
        applications, period, as_of, calendar, default_legal, by_matter, split
    )
