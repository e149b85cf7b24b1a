"""Personal-data commands, registered by :mod:`casetrack.cli` (see ``COMMANDS``): ``forget``, ``officer-lookup``.

A thin click layer over :mod:`privacy.erase` and :mod:`privacy.lookup`. Both connect with
``CASETRACK_DATABASE_URL``: ``forget`` needs a login in ``casetrack_eraser`` (it destroys keys),
``officer-lookup`` one in ``casetrack_officer``. See docs/personal-data.md.
"""

from __future__ import annotations

import click

from app import bootstrap
from app.pg_connect import connection
from casetrack.options import settings_of as _settings


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
    from privacy.erase import Identifiers, erase
    from privacy.people import AccessDenied
    from privacy.pg_people import PgPeople

    who = Identifiers(id_number, phone, case_ids, email, plate, bank_card)
    if not who:
        raise click.UsageError("give --id-number, --phone, --case, --email, --plate or --bank-card")
    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    bootstrap.require_schema(ep.database_url)
    sealer = bootstrap.build_sealer(settings, ep)
    try:
        with connection(ep.database_url) as conn:
            result = erase(sealer, PgPeople(conn), who, requested_by=requested_by, reason=reason)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except AccessDenied:
        raise click.ClickException(
            "permission denied: forgetting a person needs the casetrack_eraser role (the consumer's "
            "casetrack_writer may create keys but not destroy them); nothing was changed"
        ) from None
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
    from privacy.keystore import KeyStoreError
    from privacy.lookup import NothingOnRecord, look_up
    from privacy.people import AccessDenied
    from privacy.pg_people import PgPeople
    from privacy.pii import SealError

    settings = _settings(ctx)
    ep = bootstrap.resolve_endpoints(settings, say=click.echo)
    with connection(ep.database_url, application_name="casetrack-officer-lookup") as conn:
        wrapper = bootstrap.build_key_wrapper(settings)
        try:
            found = look_up(PgPeople(conn), subject, aggregate, wrapper)
        except AccessDenied:
            raise click.ClickException(
                "permission denied: officer look-ups need the casetrack_officer role"
            ) from None
        except (SealError, KeyStoreError) as exc:  # messages never quote keys or personal data
            raise click.ClickException(f"cannot open the personal data of {subject}: {exc}") from None
        except NothingOnRecord as exc:
            raise click.ClickException(str(exc)) from None
    for line in found.lines():
        click.echo(line)


COMMANDS: list[click.Command] = [forget, officer_lookup]
