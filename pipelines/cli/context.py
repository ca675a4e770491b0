"""What every command shares: the opened stores, error handling, and reading secrets safely."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from resources.errors import SieveError
from resources.security.vault import Secret

if TYPE_CHECKING:
    from pipelines.runs import FailedConnection, SkippedConnection
    from resources.runtime import Sieve
    from resources.security.access import Person
    from resources.storage.control_plane import Organization

# Every error meant for people is a SieveError (the HTTP layer's included).
PEOPLE_FACING_ERRORS = (SieveError,)


class SieveGroup(click.Group):
    """Turns errors meant for people into a one-line message and exit status 2 — no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PEOPLE_FACING_ERRORS as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        finally:
            sieve = ctx.meta.get("sieve")
            if sieve is not None:
                sieve.close()


def sieve_from(ctx: click.Context) -> Sieve:
    from resources.runtime import open_sieve

    root = ctx.find_root()
    if "sieve" not in root.meta:
        root.meta["sieve"] = open_sieve()
    return root.meta["sieve"]


def acting_person(ctx: click.Context) -> Person:
    """The person running this command (``SIEVE_TOKEN``, or the local admin's OS user)."""
    from resources.security.access import TOKEN_ENV
    from resources.security.access import acting_person as resolve
    from resources.security.audit import current_os_user

    root = ctx.find_root()
    if "person" not in root.meta:
        sieve = sieve_from(ctx)
        root.meta["person"] = resolve(sieve.access, sieve.environ.get(TOKEN_ENV),
                                      current_os_user())
        sieve.audit.acting_for = root.meta["person"].actor
    return root.meta["person"]


def authorized(ctx: click.Context, slug: str, role: str) -> tuple[Sieve, Organization, Person]:
    """The opened stores, org SLUG and the person running the command, once their grant on the
    org is checked to give ``role`` (``AccessDenied``, a people-facing error, otherwise)."""
    sieve = sieve_from(ctx)
    org = sieve.control_plane.organization(slug)
    person = acting_person(ctx)
    sieve.access.authorize(person, org, role)
    return sieve, org, person


def installation_admin(ctx: click.Context) -> tuple[Sieve, Person]:
    """The opened stores and the person running the command, once they are an admin of every
    organization (adding orgs, rotating keys, the audit log need it)."""
    from resources.security.access import AccessDenied

    sieve = sieve_from(ctx)
    person = acting_person(ctx)
    if not sieve.access.admin_of_every_org(person):
        raise AccessDenied(f"{person.email} may not do this: it needs an admin of every "
                           "organization (`sieve access grant EMAIL --role admin` without "
                           "--org, by such an admin).")
    return sieve, person


def visible_organizations(ctx: click.Context, role: str = "analyst") -> list[Organization]:
    """The organizations the person running the command holds ``role`` (or more) on."""
    from resources.security.access import role_allows

    sieve = sieve_from(ctx)
    person = acting_person(ctx)
    return [org for org in sieve.control_plane.organizations()
            if role_allows(sieve.access.role(person, org), role)]


def read_secret(env_var: str | None, *, what: str, option: str) -> Secret:
    """A secret comes from a named environment variable or a hidden prompt — never from argv."""
    if env_var:
        value = os.environ.get(env_var, "")
        if not value.strip():
            raise click.UsageError(f"{option} {env_var}: the environment variable {env_var} is "
                                   f"not set or empty; export the {what} in it first.")
        return Secret(value.strip())
    if not sys.stdin.isatty():
        raise click.UsageError(f"No {what} given: pass {option} VAR naming an environment "
                               "variable that holds it (it is never accepted as an argument).")
    return Secret(click.prompt(f"{what.capitalize()}", hide_input=True).strip())


def echo_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def echo_failed_connections(failed: list[FailedConnection]) -> None:
    """Last, on their own: one line per failed connection with its cause and what to do."""
    echo_connections(failed, "failed")


def echo_skipped_connections(skipped: list[SkippedConnection]) -> None:
    """One line per connection the sync did not try, with why and where the fix is."""
    echo_connections(skipped, "skipped until connected again")


def echo_connections(connections: list[FailedConnection] | list[SkippedConnection],
                     what: str) -> None:
    if not connections:
        return
    count = f"{len(connections)} connection{'s' if len(connections) != 1 else ''}"
    click.echo(f"\n{count} {what}:", err=True)
    for connection in connections:
        click.echo(f"  {connection.source} {connection.connection_id}: {connection.message}",
                   err=True)
