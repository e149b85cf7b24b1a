"""Personal-data commands, registered by :mod:`casetrack.cli` (see ``COMMANDS``): ``forget``, ``officer-lookup``.

Both connect with ``CASETRACK_DATABASE_URL``: ``forget`` needs a login in ``casetrack_writer`` (it destroys
keys), ``officer-lookup`` one in ``casetrack_officer``. See docs/personal-data.md.
"""

from __future__ import annotations

import click

from app import bootstrap
from app.settings import Settings


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@click.command()
@click.option("--id-number", help="The person's resident ID number (any spelling).")
@click.option("--phone", help="The person's phone number (any spelling).")
@click.option(
    "--case",
    "case_ids",
    multiple=True,
    help="Also forget whoever petitioned in this case (the only way to reach a name-only petitioner).",
)
@click.option("--email", help="An e-mail address written in free text (its own key).")
@click.option("--plate", help="A licence plate written in free text (its own key).")
@click.option("--bank-card", help="A bank card number written in free text (its own key).")
@click.option("--requested-by", required=True, help="Who asked (an officer or office; not the person).")
@click.option("--reason", required=True, help="Why, e.g. the request reference. No personal data.")
@click.pass_context
def forget(
    ctx: click.Context,
    id_number: str | None,
    phone: str | None,
    case_ids: tuple[str, ...],
    email: str | None,
    plate: str | None,
    bank_card: str | None,
    requested_by: str,
    reason: str,
) -> None:
    """Forget a person: destroy their keys, so every sealed copy of their data becomes unreadable.

    Give every identifier the person used (--id-number and --phone: each has its own key; a phone or ID
    number written in free text is sealed under that same key). An e-mail address, plate or card number
    written in free text has a key of its own: --email, --plate, --bank-card. The keys are
    destroyed and tombstoned (a later or replayed event of the person is stored erased), one
    casetrack.erasure_audit row per key records who asked, when and why, and a log line without personal
    data is written. Counts and case facts are kept. Plaintext that producers sent stays on Kafka until
    the topics' retention removes it.
    """
    import psycopg2
    import psycopg2.errors

    from privacy.transform import case_persons
    from privacy.transform import forget as do_forget

    if not (id_number or phone or case_ids or email or plate or bank_card):
        raise click.UsageError("give --id-number, --phone, --case, --email, --plate or --bank-card")
    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    bootstrap.require_schema(ep.database_url)
    sealer = bootstrap.build_sealer(settings, ep)
    persons: list[str] = []
    if case_ids:
        conn = psycopg2.connect(ep.database_url)
        try:
            for case_id in case_ids:
                found = case_persons(conn, case_id)
                if not found:
                    raise click.ClickException(f"case {case_id} has no sealed petitioner")
                persons.extend(found)
        finally:
            conn.close()
    try:
        result = do_forget(
            sealer,
            id_number=id_number,
            phone=phone,
            persons=persons,
            email=email,
            plate=plate,
            bank_card=bank_card,
            requested_by=requested_by,
            reason=reason,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg2.errors.InsufficientPrivilege:
        raise click.ClickException(
            "permission denied: forgetting a person needs the casetrack_eraser role (the consumer's "
            "casetrack_writer may create keys but not destroy them); nothing was changed"
        ) from None
    vacuum = getattr(sealer.keystore, "vacuum", None)
    if vacuum is not None:
        vacuum()  # drop the dead row versions that still hold the destroyed keys
    click.echo(
        f"forgotten: {result.persons} identifier(s) tombstoned, {result.keys_destroyed} key(s) destroyed; "
        "recorded in casetrack.erasure_audit"
    )


@click.command("officer-lookup")
@click.argument("subject")
@click.option(
    "--aggregate",
    type=click.Choice(["case", "supervision", "rectification"]),
    default="case",
    show_default=True,
    help="What SUBJECT is: a case id, a supervision order id or a rectification item id.",
)
@click.pass_context
def officer_lookup(ctx: click.Context, subject: str, aggregate: str) -> None:
    """Show who petitioned in case SUBJECT and the personal data masked in its texts, as written (case
    officers only; every look-up is logged in the database).

    Texts show each masked value in place; a value whose person was forgotten stays a placeholder such as
    [电话#1a2b3c4d]. Needs a login in the casetrack_officer role and, if keys are wrapped, the key-encryption key.
    """
    import psycopg2
    import psycopg2.errors

    from privacy.pg_keystore import KeyStoreError
    from privacy.pii import SealError
    from privacy.transform import officer_lookup as lookup
    from privacy.transform import officer_texts

    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    conn = psycopg2.connect(ep.database_url, application_name="casetrack-officer-lookup")
    wrapper = bootstrap.build_key_wrapper(settings)
    try:
        found = lookup(conn, subject, wrapper) if aggregate == "case" else []
        texts = officer_texts(conn, subject, wrapper, aggregate)
    except psycopg2.errors.InsufficientPrivilege:
        raise click.ClickException(
            "permission denied: officer look-ups need the casetrack_officer role"
        ) from None
    except (SealError, KeyStoreError) as exc:  # messages never quote keys or personal data
        raise click.ClickException(f"cannot open the personal data of {subject}: {exc}") from None
    finally:
        conn.close()
    if not found and not texts:
        raise click.ClickException(f"{aggregate} {subject} has no personal data on record")
    for p in found:
        click.echo(f"{p.case_id}  event {p.event_id}")
        if p.fields is None:
            click.echo("  (erased: this person was forgotten)")
            continue
        for field in ("name", "phone", "id_number"):
            if field in p.fields:
                click.echo(f"  {field}: {p.fields[field]}")
    for t in texts:
        erased = f"  ({t.erased} erased: forgotten)" if t.erased else ""
        click.echo(f"{subject}  event {t.event_id}  {t.field}:{erased}")
        click.echo(f"  {t.text}")


COMMANDS: list[click.Command] = [forget, officer_lookup]
