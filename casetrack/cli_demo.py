"""``casetrack demo``, registered by :mod:`casetrack.cli` (see ``COMMANDS``): the steps of :mod:`casetrack.demo` with
progress bars, the office figures as tables (:mod:`casetrack.demo_tables`) and the HTML report."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import sys
import time
import webbrowser
from pathlib import Path
from typing import Any

import click
from kafka.errors import KafkaError

from app.bootstrap import build_calendar, build_policy
from app.errors import EXIT_INTERRUPTED, DatabaseUnreachable
from app.pg_connect import connection
from app.settings import Settings
from casetrack import demo as d
from casetrack.demo import DEFAULT_CASES_PER_DAY, DEFAULT_SEED, DEMO_DATABASE
from casetrack.options import settings_of
from reports.build import default_legal_limit

COMMANDS: list[click.Command] = []


def _console() -> Any:
    from rich.console import Console

    # Piped into a file or CI log, rich would assume 80 columns and squeeze the tables: use a readable width.
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 150
    return Console(width=width, soft_wrap=False, highlight=False)


def _progress(console: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[rate]}"), console=console,
    )  # fmt: skip


@click.command()
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Days simulated.")
@click.option(
    "--cases-per-day",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_CASES_PER_DAY,
    show_default=True,
    help="Cases received per day across all channels.",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Generator seed (same seed, same month).",
)
@click.option(
    "--serve-seconds",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Keep /metrics up this long after the report (0: print how to run `casetrack serve`).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the HTML report.  [default: <data dir>/demo-report.html]",
)
@click.option(
    "--open/--no-open", "open_report", default=False, show_default=True, help="Open it in a browser."
)
@click.option(
    "--database",
    default=DEMO_DATABASE,
    show_default=True,
    help="The demo database, dropped and re-created on the same server each run.",
)
@click.pass_context
def demo(
    ctx: click.Context,
    days: int,
    cases_per_day: int,
    seed: int,
    serve_seconds: float,
    report_path: Path | None,
    open_report: bool,
    database: str,
) -> None:
    """Simulate a month of a city's case work and show the whole pipeline: publish, consume, figures, report.

    Uses the embedded broker and PostgreSQL (started if needed) unless CASETRACK_KAFKA_BOOTSTRAP and
    CASETRACK_DATABASE_URL are set. Every run starts from a fresh demo database and fresh topics.

    Ctrl-C stops it with exit code 130 and says what was left (the servers, a partial demo database).
    """
    settings = settings_of(ctx)
    try:
        options = d.DemoOptions(
            days=days,
            cases_per_day=cases_per_day,
            seed=seed,
            database=database,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    # The generator notes (at INFO) when long life cycles reach a year without an official calendar; the demo
    # cuts them at the current time, so that note would only puzzle a new user.
    logging.getLogger("producers.generator").setLevel(logging.WARNING)
    console = _console()
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    now = dt.datetime.now(dt.UTC)
    config = options.generator_config(now)
    console.rule("[bold]casetrack demo[/] · 城市案件办理模拟 · a simulated city's case work")
    console.print(
        f"Simulating {config.start} to {now.astimezone(d.SHANGHAI):%Y-%m-%d %H:%M} (Asia/Shanghai): "
        f"about {options.cases_per_day:,} cases a day, seed {options.seed}."
    )

    stage = ["starting the servers and preparing the demo database"]  # for an interrupted run's message
    try:
        _run(settings, options, config, now, console, t0, timings, stage, serve_seconds, report_path,
             open_report, database)  # fmt: skip
    except KeyboardInterrupt:
        _interrupted(console, settings, options.database, stage[0])
        ctx.exit(EXIT_INTERRUPTED)


def _interrupted(console: Any, settings: Settings, database: str, stage: str) -> None:
    """What Ctrl-C left behind, and what to do about it (instead of click's bare "Aborted!")."""
    console.print(f"\n[bold yellow]Interrupted[/] while {stage}.")
    console.print(
        f"Left behind: the demo database {database} and this run's casetrack-demo.* topics, partly filled; "
        "the next `casetrack demo` starts afresh and removes them. Nothing else was touched."
    )
    if settings.embedded:
        console.print("The embedded servers keep running: `casetrack down` stops them.")


def _run(
    settings: Settings,
    options: d.DemoOptions,
    config: Any,
    now: dt.datetime,
    console: Any,
    t0: float,
    timings: dict[str, float],
    stage: list[str],
    serve_seconds: float,
    report_path: Path | None,
    open_report: bool,
    database: str,
) -> None:
    """The demo's steps (see :mod:`casetrack.demo`); ``stage[0]`` names the one running."""
    target = _prepare(console, settings, options, timings)
    stage[0] = "publishing the simulated month"
    registry, domain = d.metrics_registry(target)
    server = None
    if serve_seconds > 0:
        server = d.serve_metrics(registry, domain, settings.metrics_host, settings.metrics_port)
        console.print(f"  Live metrics while it runs: [link={server.url}]{server.url}[/link]")
    try:
        pub = _publish(console, target, config, timings)
        stage[0] = "consuming (the tables hold what was consumed so far)"
        _consume(console, target, registry, pub.stats.total, timings)
        stage[0] = "reading the figures and writing the report"
        path = report_path or settings.data_dir / "demo-report.html"
        written = _figures_and_report(console, target, options, config, now, pub, timings, path)
        elapsed = time.monotonic() - t0
        console.rule("[bold]Where to look next · 下一步")
        console.print(f"[bold]Report 报告[/]  {written.as_uri()}")
        if open_report and not webbrowser.open(written.as_uri()):
            console.print("  (no browser could be started here: open the file yourself)")
        _print_access(console, target, server, settings, options.database)
        _print_done(console, elapsed, timings)
        if server is not None:
            _serve(console, server.url, serve_seconds)
    except (d.DemoError, KafkaError, DatabaseUnreachable) as exc:
        raise click.ClickException(f"the demo stopped: {exc}") from None
    finally:
        if server is not None:
            server.close()
        else:
            domain.close()


def _prepare(
    console: Any, settings: Settings, options: d.DemoOptions, timings: dict[str, float]
) -> d.DemoTarget:
    """Step 1: the servers, a fresh demo database (migrated) and this run's topics."""
    step = time.monotonic()
    try:
        with console.status(
            "Starting the broker and database, preparing a fresh demo database and topics..."
        ):
            target = d.prepare(settings, options, lambda m: console.print(f"  {m}"))
    except d.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    timings["prepare"] = time.monotonic() - step
    removed = (
        f"; removed {len(target.removed_topics)} topics of earlier runs" if target.removed_topics else ""
    )
    console.print(
        f"[green]✓[/] Ready in {timings['prepare']:.1f}s: database [bold]{options.database}[/] (migrated), "
        f"topics {target.settings.topics.case} and its siblings{removed}."
    )
    return target


def _figures_and_report(
    console: Any,
    target: d.DemoTarget,
    options: d.DemoOptions,
    config: Any,
    now: dt.datetime,
    pub: d.Published,
    timings: dict[str, float],
    path: Path,
) -> Path:
    """Steps 4 and 5: the office figures from the analysts' views, printed, then the HTML report written."""
    from casetrack import demo_tables, figures, report

    step = time.monotonic()
    end = now.astimezone(d.SHANGHAI).date()
    calendar = build_calendar(target.settings)
    with console.status("Reading the office figures from the analysts' views..."):
        with connection(target.endpoints.database_url, application_name="casetrack-demo") as conn:
            figs = figures.load(conn)
            office = report.office_reports(  # casetrack report's figures over the demo's days
                conn, config.start, end, calendar, default_legal_limit(build_policy(target.settings))
            )
    demo_tables.print_figures(console, figs, pub.stats)
    meta = report.ReportMeta(
        run_id=target.run_id,
        generated_at=dt.datetime.now(d.SHANGHAI),
        start=config.start,
        end=end,
        seed=options.seed,
        cases_per_day=options.cases_per_day,
        published=pub.stats,
        timings=timings,
    )
    with console.status("Writing the HTML report..."):
        written = report.write(path, figs, meta, calendar, office)
    timings["figures and report"] = time.monotonic() - step
    return written


def _print_done(console: Any, elapsed: float, timings: dict[str, float]) -> None:
    console.print(
        f"\n[bold green]Done in {elapsed:.0f}s[/] (prepare {timings['prepare']:.0f}s, publish "
        f"{timings['publish']:.0f}s, consume {timings['consume']:.0f}s, figures and report "
        f"{timings['figures and report']:.0f}s)."
    )


def _serve(console: Any, url: str, seconds: float) -> None:
    """Keep the metrics endpoint up after the demo, until ``seconds`` pass or Ctrl-C."""
    console.print(f"Serving {url} for {seconds:.0f}s (Ctrl-C stops it)...", highlight=False)
    try:
        time.sleep(seconds)
    except KeyboardInterrupt:
        console.print("stopped serving the metrics; the demo had finished")


def _publish(console: Any, target: d.DemoTarget, config: Any, timings: dict[str, float]) -> d.Published:
    step = time.monotonic()
    expected = d.expected_messages(config)
    with _progress(console) as bar:
        task = bar.add_task("Publishing  发布", total=expected, rate="")

        def published(sent: int) -> None:
            rate = sent / max(time.monotonic() - step, 1e-9)
            # The total is an estimate: past it, the bar shows no total rather than one that keeps growing.
            if sent > expected:
                bar.tasks[0].total = None  # rich's update() cannot unset a total
            bar.update(task, completed=sent, rate=f"{rate:,.0f} msg/s")

        pub = d.publish(target, config, published)
        bar.update(task, completed=pub.stats.total, total=pub.stats.total)
    timings["publish"] = time.monotonic() - step
    st = pub.stats
    console.print(
        f"[green]✓[/] Published {st.total:,} messages in {timings['publish']:.1f}s: {st.valid:,} events "
        f"({st.late:,} of them late), {st.duplicates:,} duplicates, {st.malformed:,} malformed."
    )
    return pub


def _consume(
    console: Any, target: d.DemoTarget, registry: Any, total: int, timings: dict[str, float]
) -> None:
    step = time.monotonic()
    with _progress(console) as bar:
        task = bar.add_task("Consuming   消费", total=total, rate="")

        def consumed(totals: Any) -> None:
            rate = totals.records / max(time.monotonic() - step, 1e-9)
            bar.update(task, completed=totals.records, rate=f"{rate:,.0f} rec/s")

        totals = d.consume(target, registry, consumed)
    timings["consume"] = time.monotonic() - step
    console.print(
        f"[green]✓[/] Consumed {totals.records:,} records in {timings['consume']:.1f}s: "
        f"{totals.applied:,} applied, {totals.duplicates:,} duplicates, {totals.dead_letters:,} dead-lettered."
    )


def _print_access(
    console: Any, target: d.DemoTarget, server: d.MetricsServer | None, settings: Settings, database: str
) -> None:
    """Where the data is and how to query it (psql), and where the live metrics are (or how to get them)."""
    from rich.markup import escape

    psql, had_password = d.psql_command(target)
    console.print(f"[bold]Data 数据[/]    database [bold]{escape(database)}[/] on the server; with psql:")
    console.print(f"  {escape(psql)}", soft_wrap=True)
    console.print("  The analysts' views are documented in docs/analysts.md; for example:")
    query = (
        "SELECT channel, sum(received) AS received FROM completion_rates\n      GROUP BY 1 ORDER BY 2 DESC"
    )
    console.print(f"  {escape(psql)} \\\n    -c {escape(shlex.quote(query))}", soft_wrap=True)
    if server is not None:
        console.print(f"[bold]Metrics 指标[/] {server.url}")
    else:
        console.print("[bold]Metrics 指标[/] run the consumer with its /metrics endpoint on the demo data:")
        console.print(f"  {escape(d.serve_command(target))}", soft_wrap=True)
        where = f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
        console.print(f"  then open {where}")
        console.print("  (or run `casetrack demo --serve-seconds 120`).")
    if had_password:
        console.print("  (the password is left out of these commands: set PGPASSWORD, which both read)")


COMMANDS.append(demo)
