"""``sieve org …``: organizations (tenants)."""

from __future__ import annotations

import click

from pipelines.cli.context import echo_table, installation_admin, visible_organizations


@click.group()
def org() -> None:
    """Organizations: one tenant each, with its own encrypted database and data key.

    \b
    Examples:
      sieve org add acme
      sieve org list
    """


@org.command("add")
@click.argument("slug")
@click.pass_context
def org_add(ctx: click.Context, slug: str) -> None:
    """Create organization SLUG (lowercase letters, digits, hyphens).

    \b
    Example:
      sieve org add acme
    """
    sieve, _ = installation_admin(ctx)
    created = sieve.control_plane.add_organization(slug)
    sieve.audit.append("organization.added", org_id=created.id)
    click.echo(f"organization {created.slug} created (id {created.id})")


@org.command("list")
@click.pass_context
def org_list(ctx: click.Context) -> None:
    """List the organizations you hold a role on, and their status.

    \b
    Example:
      sieve org list
    """
    rows = [[o.slug, o.id, o.status, o.created_at.isoformat(timespec="seconds"),
             o.purge_after.isoformat(timespec="seconds") if o.purge_after else ""]
            for o in visible_organizations(ctx)]
    if not rows:
        click.echo("no organizations yet: `sieve org add SLUG` creates one")
        return
    echo_table(["slug", "id", "status", "created_at", "purge_after"], rows)


def _add_retention_commands() -> None:
    from pipelines.cli.retention import org_delete, org_terminate

    org.add_command(org_terminate)
    org.add_command(org_delete)


_add_retention_commands()
