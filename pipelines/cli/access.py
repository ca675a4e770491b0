"""``sieve access``: who may read which organization — grants, tokens and the access review.
Only admins change access; every change is an audit entry under the admin who made it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.cli.context import (
    acting_person,
    authorized,
    echo_table,
    installation_admin,
    sieve_from,
)
from pipelines.cli.retention import parse_since
from resources.security.access import ROLES, Person
from resources.security.access_review import review_access
from resources.storage.control_plane import utc_now

# The PostgreSQL-wire port `sieve serve` listens on unless told otherwise (5432 is often taken).
SERVE_DEFAULT_PORT = 5433
ROLE_HELP = "analyst: the marts; operator: also metadata, deletions, connections; admin: all."


def _admin(ctx: click.Context, slug: str | None) -> Person:
    """The acting person, once they are an admin of ``slug`` (of every org when None)."""
    if slug is not None:
        return authorized(ctx, slug, "admin")[2]
    return installation_admin(ctx)[1]


def _show_token(email: str, token: str) -> None:
    click.echo(f"personal access token for {email} (shown once; it is not stored):")
    click.echo(token)
    click.echo("hand it over on a secret channel; use it as SIEVE_TOKEN or as the password of "
               "`sieve serve`.", err=True)


@click.group()
def access() -> None:
    """Who may read which organization: grants, personal access tokens, the access review.

    \b
    Example:
      sieve access grant ana@example.com --org acme --role analyst --expires 90d
    """


@access.command("grant")
@click.argument("email")
@click.option("--org", "slug", required=True, help="The organization (slug).")
@click.option("--role", type=click.Choice(ROLES), required=True, help=ROLE_HELP)
@click.option("--expires", default=None, help="The grant ends after this long: 90d, 12w, 36h.")
@click.pass_context
def grant(ctx: click.Context, email: str, slug: str, role: str, expires: str | None) -> None:
    """Give EMAIL a role on an organization. A person new to Sieve also gets a personal access
    token, printed once.

    \b
    Example:
      sieve access grant ana@example.com --org acme --role analyst --expires 90d
    """
    admin = _admin(ctx, slug)
    sieve = sieve_from(ctx)
    org = sieve.control_plane.organization(slug)
    person = sieve.access.add_person(email)
    given = sieve.access.grant(person, org, role, actor=admin.actor,
                               expires_in=parse_since(expires) if expires else None)
    until = given.expires_at.isoformat(timespec="minutes") if given.expires_at else "revoked"
    click.echo(f"granted {person.email} {role} on {org.slug} (until {until})")
    if not person.local_user and not sieve.access.tokens(person):
        _show_token(person.email, sieve.access.issue_token(person, actor=admin.actor))


@access.command("revoke")
@click.argument("email")
@click.option("--org", "slug", default=None,
              help="Revoke this organization's grant only [default: every grant and token].")
@click.pass_context
def revoke(ctx: click.Context, email: str, slug: str | None) -> None:
    """Take EMAIL's access away: one organization's grant, or every grant and token.

    \b
    Example:
      sieve access revoke ana@example.com --org acme
    """
    admin = _admin(ctx, slug)
    sieve = sieve_from(ctx)
    person = sieve.access.person(email)
    if person is None:
        raise click.ClickException(f"Nobody with the email {email} has access.")
    org = sieve.control_plane.organization(slug) if slug else None
    count = sieve.access.revoke(person, org, actor=admin.actor)
    where = f"on {org.slug}" if org else "everywhere, with every token"
    click.echo(f"revoked {count} grant(s) of {person.email} {where}")


@access.command("rotate")
@click.argument("email", required=False)
@click.pass_context
def rotate(ctx: click.Context, email: str | None) -> None:
    """Replace a personal access token: the old one stops working now. Without EMAIL, your
    own; an admin may rotate anyone's.

    \b
    Example:
      sieve access rotate ana@example.com
    """
    sieve = sieve_from(ctx)
    me = acting_person(ctx)
    person = sieve.access.person(email) if email else me
    if person is None:
        raise click.ClickException(f"Nobody with the email {email} has access.")
    if person.id != me.id:
        _admin(ctx, None)
    _show_token(person.email, sieve.access.rotate(person, actor=me.actor))


@access.command("list")
@click.option("--org", "slug", default=None, help="One organization's grants only.")
@click.pass_context
def list_access(ctx: click.Context, slug: str | None) -> None:
    """Every live grant: who, which organization, which role, until when, last used.

    \b
    Example:
      sieve access list --org acme
    """
    _admin(ctx, slug)
    sieve = sieve_from(ctx)
    org_id = sieve.control_plane.organization(slug).id if slug else None
    slugs = {o.id: o.slug for o in sieve.control_plane.organizations()}
    now = utc_now()
    echo_table(["email", "org", "role", "expires_at", "last_used_at"],
               [[g.email, slugs.get(g.org_id, "*"), g.role, _iso(g.expires_at),
                 _iso(g.last_used_at)]
                for g in sieve.access.grants(org_id=org_id) if g.active(now)])


def _iso(value) -> str:
    return value.isoformat(timespec="minutes") if value else "-"


@access.command("review")
@click.option("--since", default="30d", show_default=True,
              help="The period for operator reads and failed logins: 30d, 12w…")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]),
              default="table", show_default=True, help="json: an evidence file.")
@click.pass_context
def review(ctx: click.Context, since: str, output_format: str) -> None:
    """The routine access audit: who holds which role where and last used it, grants unused
    for 30+ days or expiring within 14, tokens never used, operator reads of names and emails.

    \b
    Example:
      sieve access review --format json > access-review-$(date +%F).json
    """
    admin = _admin(ctx, None)
    sieve = sieve_from(ctx)
    result = review_access(sieve.access, parse_since(since))
    sieve.audit.append("access.reviewed", actor=admin.actor,
                       details={"interface": "sieve access review"})
    if output_format == "json":
        click.echo(json.dumps(result, indent=1))
        return
    click.echo(f"access review since {result['period_start']}")
    for key, title in (("grants", "grants"), ("unused_grants", "unused for 30+ days"),
                       ("expiring_soon", "expiring within 14 days")):
        click.echo(f"\n{title}: {len(result[key])}")
        if result[key]:
            echo_table(["email", "org", "role", "expires_at", "last_used_at"],
                       [[g["email"], g["org"], g["role"], g["expires_at"] or "-",
                         g["last_used_at"] or "never"] for g in result[key]])
    click.echo(f"\ntokens never used: {len(result['tokens_never_used'])}")
    if result["tokens_never_used"]:
        echo_table(["email", "token", "created_at"],
                   [[t["email"], t["token"], t["created_at"]]
                    for t in result["tokens_never_used"]])
    click.echo(f"\noperator reads of names and emails: {len(result['operator_reads'])}")
    if result["operator_reads"]:
        echo_table(["person", "org", "interface", "at"],
                   [[r["person"], r["org"], r["interface"], r["at"]]
                    for r in result["operator_reads"]])
    click.echo(f"\nfailed logins: {result['failed_logins']}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --tls-cert.")
@click.option("--port", default=SERVE_DEFAULT_PORT, show_default=True)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--statement-timeout", default=30.0, show_default=True, help="Seconds.")
@click.option("--max-rows", default=100_000, show_default=True, help="Rows a result may hold.")
@click.option("--connections-per-person", default=5, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, tls_cert: Path | None,
          tls_key: Path | None, statement_timeout: float, max_rows: int,
          connections_per_person: int) -> None:
    """Serve every organization's marts over the PostgreSQL protocol, read-only: database =
    org slug, user = email, password = personal access token.

    \b
    Example:
      sieve serve --port 5433
      PGPASSWORD=$SIEVE_TOKEN psql "host=127.0.0.1 port=5433 dbname=acme user=ana@example.com"
    """
    from resources.analyst.server import ServeLimits
    from resources.analyst.server import serve as make_server

    _admin(ctx, None)  # the server holds the key-encryption key: an admin starts it
    limits = ServeLimits(statement_timeout, max_rows, connections_per_person)
    server = make_server(sieve_from(ctx), host, port, limits=limits, tls_cert=tls_cert,
                         tls_key=tls_key)
    click.echo(f"serving marts on {host}:{port} ({'TLS' if server.tls else 'loopback, no TLS'})"
               "; Ctrl-C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
