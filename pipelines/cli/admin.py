"""``sieve init`` and ``sieve audit``."""

from __future__ import annotations

import os

import click

from pipelines.cli.context import echo_table, installation_admin, sieve_from
from resources.security.audit import create_audit_key_file, current_os_user
from resources.security.keys import create_key_file


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create SIEVE_HOME, the key-encryption key, the audit key, the control plane and the
    Dagster instance. Safe to run again: nothing existing is replaced.

    \b
    Example:
      SIEVE_HOME=/srv/sieve sieve init
    """
    from pipelines.instance import write_embedded_instance

    sieve = sieve_from(ctx)
    settings = sieve.settings
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.environ.get("SIEVE_MASTER_KEY"):
        click.echo("key-encryption key: from SIEVE_MASTER_KEY")
    elif settings.key_file.exists():
        click.echo(f"key-encryption key: {settings.key_file} (kept)")
    else:
        key = create_key_file(settings.key_file)
        click.echo(f"key-encryption key: created {settings.key_file} (id {key.kek_id}, mode 0600)")
    if os.environ.get("SIEVE_AUDIT_KEY"):
        click.echo("audit key: from SIEVE_AUDIT_KEY")
    elif settings.audit_key_file.exists():
        click.echo(f"audit key: {settings.audit_key_file} (kept)")
    else:
        create_audit_key_file(settings.audit_key_file)
        click.echo(f"audit key: created {settings.audit_key_file} (mode 0600)")
    sieve.keys()  # fail now, clearly, if the configured key is unusable
    control_plane = sieve.control_plane
    click.echo(f"control plane: {control_plane.engine.url.render_as_string(hide_password=True)}")
    instance = write_embedded_instance(settings.dagster_home)
    click.echo(f"dagster instance: {instance}")
    sieve.audit.append("sieve.initialized")
    admin = sieve.access.bootstrap_local_admin(current_os_user())
    click.echo(f"admin: {admin.email} (the OS user {admin.local_user}; no token needed here)")


@click.group()
def audit() -> None:
    """The hash-chained audit log.

    \b
    Example:
      sieve audit verify
    """


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check every entry's HMAC chain; report the first broken entry.

    \b
    Example:
      sieve audit verify
    """
    result = installation_admin(ctx)[0].audit.verify()
    if result.ok:
        click.echo(f"audit log intact: {result.checked} entries verified")
        return
    click.echo(f"audit log BROKEN at entry {result.first_broken_seq}: {result.reason} "
               f"({result.checked} entries before it verified)", err=True)
    ctx.exit(1)


@audit.command("log")
@click.option("--limit", default=50, show_default=True, help="Show the newest N entries.")
@click.pass_context
def audit_log(ctx: click.Context, limit: int) -> None:
    """Print the newest audit entries (opaque ids and counts only).

    \b
    Example:
      sieve audit log --limit 20
    """
    entries = installation_admin(ctx)[0].audit.entries()[-limit:]
    echo_table(["seq", "recorded_at", "actor", "action", "org", "target"],
               [[e.seq, e.recorded_at.isoformat(timespec="seconds"), e.actor, e.action,
                 e.org_id, e.target] for e in entries])


def _add_retention_commands() -> None:
    from pipelines.cli.retention import audit_report

    audit.add_command(audit_report)


_add_retention_commands()
