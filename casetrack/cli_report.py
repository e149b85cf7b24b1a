"""``casetrack report``: the reports offices publish, for any period, as of any moment (registered by
:mod:`casetrack.cli`). Figures, formats and freezing: docs/analysts.md, 'Reports'."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from app import bootstrap
from app.pg_connect import PgConnection, connect
from app.settings import Settings
from reports import build, formats, pg_facts, pg_store
from reports.periods import BEIJING, Period, PeriodError, parse_as_of, parse_period
from reports.table import Report


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _connect(ctx: click.Context) -> PgConnection:
    ep = bootstrap.resolve_endpoints(_settings(ctx), say=lambda m: click.echo(m, err=True))
    bootstrap.require_schema(ep.database_url)
    return connect(ep.database_url, application_name="casetrack-report")


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


def _as_of(conn: PgConnection, text: str | None, publishing: bool) -> dt.datetime:
    try:
        requested = None if text is None else parse_as_of(text)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    if publishing or requested is None:
        # a cut that can be reproduced later: not after an open writing transaction (reports.pg_facts)
        with conn:
            return pg_facts.settled_as_of(conn, requested)
    return requested


def _emit(report: Report, fmt: str, out: Path | None) -> None:
    if fmt == "table":
        _print_table(report)
        return
    data = formats.render(report, fmt)
    if out is None:
        if fmt == "xlsx":
            raise click.UsageError("--format xlsx needs --out FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    click.echo(f"wrote {out}", err=True)


def _print_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=report.title, caption="\n".join(report.notes), title_justify="left")
    for c in report.columns:
        table.add_column(f"{c.zh}\n[dim]{c.key}[/dim]", justify="left" if c.key in _TEXT else "right")
    for row in report.rows:
        table.add_row(*(formats._text(v) for v in row))
    console = Console(soft_wrap=False)
    console.print(f"统计期 period {report.period} ({report.period_start} – {report.period_end}) · 截至 as of "
                  f"{report.as_of.astimezone(BEIJING).isoformat()}")  # fmt: skip
    console.print(table)


_TEXT = frozenset({"row", "item", "bucket", "channel", "channel_zh", "region", "department", "matter"})


def _run(
    ctx: click.Context, make: Callable[[Any, dt.datetime], Report], as_of: str | None, fmt: str,
    out: Path | None, publish: bool, published_by: str | None, new_version: bool,
) -> None:  # fmt: skip
    if publish and not (published_by and published_by.strip()):
        raise click.UsageError("--publish needs --published-by (who publishes it, e.g. the office)")
    conn = _connect(ctx)
    try:
        moment = _as_of(conn, as_of, publish)
        report = make(conn, moment)
        if publish:
            assert published_by is not None
            try:
                done = pg_store.publish(conn, report, published_by.strip(), new_version)
            except pg_store.AlreadyPublished as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"published {report.kind} {report.period} version {done.version} as of "
                       f"{moment.astimezone(BEIJING).isoformat()} sha256 {done.sha256}", err=True)  # fmt: skip
        _emit(report, fmt, out)
    finally:
        conn.close()


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--as-of", "as_of", help="Count only events recorded by then: 2026-10-05 (end of day) or "
                     "2026-10-05T09:00[+08:00]. Default: now."),
        click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="table", show_default=True),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."),
        click.option("--publish", is_flag=True, help="Freeze the report (casetrack.published_reports)."),
        click.option("--published-by", help="Who publishes it (with --publish)."),
        click.option("--new-version", is_flag=True, help="With --publish: a corrected version of a published one."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


@click.group()
def report() -> None:
    """Office reports for a week, month, quarter, year or span, as of a moment; publish to freeze them."""


@report.command("disclosure-annual")
@click.option("--year", type=click.IntRange(2000, 2099), help="The report year (the period is that year).")
@click.option("--period", "period_text", help="Another period instead of --year (e.g. 2026-01..2026-06).")
@_common
@click.pass_context
def disclosure_annual(ctx: click.Context, /, year: int | None, period_text: str | None, **kw: Any) -> None:
    """政府信息公开工作年度报告: requests by applicant type and outcome (national format)."""
    if (year is None) == (period_text is None):
        raise click.UsageError("give --year or --period")
    period = _period(str(year) if year is not None else str(period_text))
    _run(ctx, lambda conn, moment: build.disclosure_annual(conn, period, moment), **kw)


@report.command("petitions")
@click.option("--period", "period_text", required=True, help="2026, 2026-Q3, 2026-07, 2026-W14 or FROM..TO.")
@click.option("--split", type=click.Choice(["none", "week", "month", "quarter"]), default="none",
              show_default=True, help="One row group per sub-period.")  # fmt: skip
@click.option("--collective", type=click.IntRange(2, 1000), default=5, show_default=True,
              help="People from which a petition is a collective visit (集体访).")  # fmt: skip
@_common
@click.pass_context
def petition_statistics(
    ctx: click.Context, /, period_text: str, split: str, collective: int, **kw: Any
) -> None:
    """信访: batches (批次) and people (人次), collective (集体访) and skip-level (越级访) visits."""
    period = _period(period_text)
    _run(ctx, lambda conn, moment: build.petition_statistics(conn, period, moment, split, collective), **kw)


@report.command("service-centre")
@click.option("--period", "period_text", required=True, help="2026, 2026-Q3, 2026-07, 2026-W14 or FROM..TO.")
@click.option("--by", type=click.Choice(["department", "department,matter"]), default="department,matter",
              show_default=True, help="Rows per lead department, or per department and matter.")  # fmt: skip
@click.option("--split", type=click.Choice(["none", "week", "month", "quarter"]), default="none",
              show_default=True, help="One row group per sub-period (by the day of completion).")  # fmt: skip
@_common
@click.pass_context
def service_centre(ctx: click.Context, /, period_text: str, by: str, split: str, **kw: Any) -> None:
    """政务服务中心: 现场办结率, 承诺件提前办结率, speed-ups, 测评率, mean days of 承诺件."""
    period = _period(period_text)
    settings = _settings(ctx)
    calendar = bootstrap.build_calendar(settings)
    legal = build.default_legal_limit(bootstrap.build_policy(settings))

    def make(conn: Any, moment: dt.datetime) -> Report:
        return build.service_centre_figures(conn, period, moment, calendar, legal, by != "department", split)

    _run(ctx, make, **kw)


@report.command("show")
@click.argument("kind", type=click.Choice(build.KINDS))
@click.option("--period", "period_text", required=True, help="The period as published (e.g. 2026-Q3).")
@click.option("--version", type=click.IntRange(1), help="Default: the latest.")
@click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.pass_context
def show(
    ctx: click.Context, kind: str, period_text: str, version: int | None, fmt: str, out: Path | None
) -> None:
    """A frozen report exactly as published (its checksum verified)."""
    label = _period(period_text).label
    conn = _connect(ctx)
    try:
        done = pg_store.read(conn, kind, label, version)
    except pg_store.NotPublished as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
    at = done.published_at.astimezone(BEIJING)
    click.echo(f"{kind} {label} version {done.version}, published {at:%Y-%m-%d %H:%M} by {done.published_by}, "
               f"sha256 {done.sha256}", err=True)  # fmt: skip
    _emit(done.report, fmt, out)


@report.command("list")
@click.pass_context
def listing(ctx: click.Context) -> None:
    """Every frozen report: kind, period, version, as-of moment, publication and checksum."""
    conn = _connect(ctx)
    try:
        rows = pg_store.listing(conn)
    finally:
        conn.close()
    for rid, kind, period, version, as_of, at, by, digest, params in rows:
        click.echo(f"{rid}\t{kind}\t{period}\tv{version}\tas of {as_of.astimezone(BEIJING).isoformat()}\t"
                   f"published {at.astimezone(BEIJING):%Y-%m-%d %H:%M} by {by}\t{digest[:12]}\t{params}")  # fmt: skip


COMMANDS = [report]
