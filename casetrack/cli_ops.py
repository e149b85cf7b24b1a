"""Operator commands, registered by :mod:`casetrack.cli` (see ``COMMANDS``): ``serve``, ``lag``, ``replay``,
``dlq list|show|republish|discard``. The runbook is ``docs/operators.md``."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from app import bootstrap
from casetrack.options import settings_of as _settings
from casetrack.options import workers_option


def _endpoints(ctx: click.Context, schema: bool = True) -> bootstrap.Endpoints:
    ep = bootstrap.resolve_endpoints(_settings(ctx), say=lambda m: click.echo(m, err=True))
    if schema:
        bootstrap.require_schema(ep.database_url)
    return ep


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


# -- serve ------------------------------------------------------------------------------------------------
@click.command()
@click.option("--no-domain-metrics", is_flag=True, help="Export only the technical metrics (no DB queries).")
@click.option(
    "--domain-cache",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Seconds a domain-metrics query result is reused across scrapes.",
)
@click.pass_context
def serve(ctx: click.Context, no_domain_metrics: bool, domain_cache: float) -> None:
    """Run the projection consumer (consumer group) with /metrics, /healthz and /readyz.

    Listens on CASETRACK_METRICS_HOST:CASETRACK_METRICS_PORT (default 127.0.0.1:9108). Start more instances
    to scale out: the group splits the partitions. SIGTERM or Ctrl-C stops after the current batch.

    Exit codes: 0 stopped cleanly; 1 error; 3 the stored positions do not match the broker (it lost data,
    or retention deleted events before they were consumed): see docs/operators.md.
    """
    from ops.server import Service

    settings = _settings(ctx)
    ep = _endpoints(ctx, schema=False)
    bootstrap.ensure_topics(settings, ep.kafka_bootstrap)
    service = Service(settings, ep, domain_metrics=not no_domain_metrics, domain_cache_seconds=domain_cache)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    signal.signal(signal.SIGINT, lambda *_: service.stop())
    ctx.exit(service.run())


# -- lag --------------------------------------------------------------------------------------------------
@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--fail-above", type=int, help="Exit 2 if any partition lags by more than this many records.")
@click.pass_context
def lag(ctx: click.Context, as_json: bool, fail_above: int | None) -> None:
    """Per projection and partition: stored position, partition end, lag and age of the last event."""
    from casetrack.term import console, show
    from ops.lag import measure_lag

    rows = measure_lag(_settings(ctx), _endpoints(ctx))
    if as_json:
        click.echo(_json([r.as_dict() for r in rows]))
    else:
        cells = [
            (
                r.family, str(r.generation or "-"), r.topic, str(r.partition),
                "-" if r.position is None else f"{r.position:,}", f"{r.end:,}",
                f"{r.lag:,} (broker behind)" if r.lag < 0 else f"{r.lag:,}", _age(r.last_event_age_seconds),
            )
            for r in rows
        ]  # fmt: skip
        headings = ("projection", "gen", "topic", "part", "position", "end", "lag", "age")
        show(console(), "casetrack lag (live generations)", headings, cells, numeric=(1, 3, 4, 5, 6, 7))
        click.echo(f"total lag: {sum(max(r.lag, 0) for r in rows):,} records")
    if fail_above is not None and any(r.lag > fail_above for r in rows):
        ctx.exit(2)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


# -- replay -----------------------------------------------------------------------------------------------
@click.command()
@click.option(
    "--projection",
    type=click.Choice(["case", "supervision", "rectification", "all"]),
    default="all",
    show_default=True,
)
@click.option(
    "--from",
    "source",
    type=click.Choice(["kafka", "event-store"]),
    default="kafka",
    show_default=True,
    help="kafka: re-read the topics from the beginning; event-store: re-fold the stored events (when Kafka "
    "retention has expired).",
)
@click.option(
    "--accept-broker-loss",
    is_flag=True,
    help="After broker data loss: kafka: follow the broker (lost events leave the projection); event-store:"
    " keep every stored event and continue from what the broker holds now.",
)
@click.option("--keep-retired", is_flag=True, help="Keep the old generation's rows (delete them later).")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs and the summary only).")
@workers_option(
    "Processes folding in parallel (one core each): over partitions (kafka) or slices of the aggregates "
    "(event-store)."
)
@click.pass_context
def replay(
    ctx: click.Context,
    projection: str,
    source: str,
    accept_broker_loss: bool,
    keep_retired: bool,
    no_progress: bool,
    workers: int,
) -> None:
    """Rebuild projections beside the live ones and swap them in atomically (zero downtime).

    Analysts keep querying the live generation until the swap; live consumers pause only for the swap
    itself and then continue from the new generation's positions.
    """
    from casetrack.term import ProgressBar
    from ops.pg_generations import PgGenerations
    from ops.replay import FAMILIES, ReplayError
    from ops.replay import replay as do_replay

    settings = _settings(ctx)
    ep = _endpoints(ctx)
    families = list(FAMILIES) if projection == "all" else [projection]
    families = [f for f in families if f in bootstrap.build_projections(settings)]
    gens = PgGenerations(
        ep.database_url, bootstrap.build_codec(settings), application_name="casetrack-replay"
    )
    try:
        reports = []
        with ProgressBar(disabled=no_progress or not sys.stderr.isatty()) as bar:
            for family in families:  # one at a time, so that the progress lines name the family
                bar.family = f"{family} "
                reports += do_replay(
                    settings, ep, [family], source,  # type: ignore[arg-type]
                    bar.update, generations=gens, accept_broker_loss=accept_broker_loss,
                    keep_retired=keep_retired, workers=workers,
                )  # fmt: skip
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        gens.close()
    for r in reports:
        rate = r.events / r.build_seconds if r.build_seconds > 0 else 0.0
        cleanup = (
            f"{r.deleted_rows:,} retired rows deleted in {r.cleanup_seconds:.1f}s"
            if not keep_retired
            else f"generation {r.previous} kept (--keep-retired)"
        )
        click.echo(
            f"{r.family}: generation {r.generation} is live (was {r.previous}) after {r.total_seconds:.1f}s: "
            f"{r.events:,} events from {r.source} folded in {r.build_seconds:.1f}s ({rate:,.0f}/s); live "
            f"consumers paused {r.swap_seconds * 1000:.0f} ms for the swap; {cleanup}"
        )
        if r.broker_behind:
            where = ", ".join(f"{t}[{p}]" for t, p in r.broker_behind)
            what = (
                "continues from what the broker holds now on"
                if r.source == "event-store"
                else "followed the broker (the events it lost left the projection) on"
            )
            click.echo(f"  note: the broker had lost data; {r.family} {what} {where}", err=True)


# -- dlq --------------------------------------------------------------------------------------------------
@click.group()
def dlq() -> None:
    """Dead letters: list, show, re-publish after a fix, or discard."""


def _coords(values: tuple[str, ...]) -> list[tuple[str, int, int]]:
    from ops.dlq_tool import parse_coords

    try:
        return [parse_coords(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@dlq.command("list")
@click.option("--topic", help="Original topic (not the .dlq one).")
@click.option("--reason", help="Reason code, e.g. schema_violation.")
@click.option(
    "--state",
    type=click.Choice(["pending", "republished", "discarded", "all"]),
    default="pending",
    show_default=True,
)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def dlq_list(
    ctx: click.Context, topic: str | None, reason: str | None, state: str, limit: int, as_json: bool
) -> None:
    """Dead letters with their reasons, oldest first."""
    from casetrack.term import console, show
    from ops.dlq_tool import fmt_coords, list_letters

    letters = list_letters(_endpoints(ctx).database_url, topic, reason, state, limit)
    if as_json:
        click.echo(_json([lt.as_dict() for lt in letters]))
        return
    if not letters:
        click.echo(f"no dead letters ({state})")
        return
    cells = [
        (
            fmt_coords(lt.coords), lt.reason, lt.event_type or "-", lt.event_id or "-",
            lt.dead_lettered_at.strftime("%Y-%m-%d %H:%M:%S"), lt.state, lt.detail,
        )
        for lt in letters
    ]  # fmt: skip
    headings = ("source", "reason", "type", "event id", "dead-lettered", "state", "detail")
    show(console(), f"dead letters ({state}): {len(letters)}", headings, cells)
    if len(letters) == limit:
        click.echo(f"(the first {limit}; --limit shows more)", err=True)


@dlq.command("show")
@click.argument("source")
@click.option(
    "--value", "show_value", is_flag=True, help="Also print the record's value (may hold personal data)."
)
@click.pass_context
def dlq_show(ctx: click.Context, source: str, show_value: bool) -> None:
    """Show the dead letter of SOURCE (TOPIC/PARTITION/OFFSET of the original record) with its headers."""
    from ops.dlq_tool import find_records, get_letters

    settings = _settings(ctx)
    ep = _endpoints(ctx)
    (c,) = _coords((source,))
    letter = get_letters(ep.database_url, [c]).get(c)
    if letter is not None:
        click.echo(_json(letter.as_dict()))
    rec = find_records(
        ep.kafka_bootstrap, settings.kafka_security.client_options(),
        {c: letter.dead_lettered_at if letter else None},
    ).get(c)  # fmt: skip
    if rec is None:
        if letter is None:
            raise click.ClickException(f"no dead letter for {source}")
        click.echo("(the record was not found on the DLQ topic: retention may have removed it)")
        return
    click.echo(f"on {rec.dlq_topic}[{rec.partition}] at offset {rec.offset}")
    click.echo(f"key: {rec.key.decode('utf-8', 'replace') if rec.key is not None else '(none)'}")
    click.echo("headers:")
    for k, v in rec.headers:
        click.echo(f"  {k}: {v.decode('utf-8', 'replace') if v is not None else '(null)'}")
    size = len(rec.value) if rec.value is not None else 0
    if show_value:
        click.echo("value:")
        click.echo(rec.value.decode("utf-8", "replace") if rec.value is not None else "(none)")
    else:
        click.echo(f"value: {size} bytes (use --value to print it)")


@dlq.command("republish")
@click.argument("sources", nargs=-1)
@click.option("--reason", help="Select every pending letter with this reason code.")
@click.option("--topic", help="With --reason: only letters of this original topic.")
@click.option("--limit", type=int, help="With --reason: at most this many letters.")
@click.option(
    "--file",
    "corrected",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A corrected event (one structured CloudEvent, JSON) replacing the single selected letter.",
)
@click.option("--again", is_flag=True, help="Also letters that were re-published before.")
@click.option("--force", is_flag=True, help="Send even records the current codec still refuses.")
@click.option("--dry-run", is_flag=True, help="Check and report, send nothing.")
@click.pass_context
def dlq_republish(
    ctx: click.Context,
    sources: tuple[str, ...],
    reason: str | None,
    topic: str | None,
    limit: int | None,
    corrected: Path | None,
    again: bool,
    force: bool,
    dry_run: bool,
) -> None:
    """Send dead letters back to their original topic (SOURCES are TOPIC/PARTITION/OFFSET).

    Without --file the original key, value and headers are sent (after an upstream fix, e.g. a new event
    version or upcaster). Re-published events are deduplicated by event id like any other.
    """
    from ops.dlq_tool import fmt_coords, republish, select_pending

    settings = _settings(ctx)
    ep = _endpoints(ctx)
    selected = _selection(ep, sources, reason, topic, limit, select_pending)
    try:
        report = republish(
            settings, ep, selected, corrected.read_bytes() if corrected else None,
            again=again, dry_run=dry_run, force=force,
        )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for c, where in report.sent.items():
        click.echo(f"sent {fmt_coords(c)} -> {where}")
    for c, problem in report.still_invalid.items():
        click.echo(f"still invalid, not sent: {fmt_coords(c)}: {problem}", err=True)
    for c in report.missing:
        click.echo(f"not found on the DLQ topic (or value dropped; use --file): {fmt_coords(c)}", err=True)
    skipped = len(selected) - len(report.sent) - len(report.still_invalid) - len(report.missing)
    click.echo(
        f"{'would send' if dry_run else 'sent'} {len(report.sent)} of {len(selected)} selected"
        + (f" ({skipped} already handled; --again to resend)" if skipped else "")
    )
    if report.still_invalid or report.missing:
        ctx.exit(1)


@dlq.command("discard")
@click.argument("sources", nargs=-1)
@click.option("--reason", help="Select every pending letter with this reason code.")
@click.option("--topic", help="With --reason: only letters of this original topic.")
@click.option("--limit", type=int)
@click.option(
    "--note", required=True, help="Why (kept in casetrack.dead_letters.resolution; no personal data)."
)
@click.pass_context
def dlq_discard(
    ctx: click.Context,
    sources: tuple[str, ...],
    reason: str | None,
    topic: str | None,
    limit: int | None,
    note: str,
) -> None:
    """Mark dead letters as handled without re-publishing them (they leave the pending count)."""
    from ops.dlq_tool import discard, select_pending

    ep = _endpoints(ctx)
    selected = _selection(ep, sources, reason, topic, limit, select_pending)
    click.echo(f"discarded {discard(ep.database_url, selected, note)} of {len(selected)} selected")


def _selection(
    ep: bootstrap.Endpoints,
    sources: tuple[str, ...],
    reason: str | None,
    topic: str | None,
    limit: int | None,
    select_pending: Any,
) -> list[tuple[str, int, int]]:
    if bool(sources) == bool(reason):
        raise click.UsageError("select letters either by SOURCES or by --reason (with optional --topic)")
    selected: list[tuple[str, int, int]] = (
        _coords(sources) if sources else select_pending(ep.database_url, topic, reason, limit)
    )
    if not selected:
        raise click.ClickException("no dead letters match")
    return selected


COMMANDS: list[click.Command] = [serve, lag, replay, dlq]
