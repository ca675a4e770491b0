"""``sieve connect``, ``sieve connections`` and ``sieve disconnect``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.cli.context import echo_table, read_secret, sieve_from
from resources.connectors import check_credentials
from resources.control_plane import Organization
from resources.http.urls import validate_base_url
from resources.vault import Secret


def _split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def _store(ctx: click.Context, source: str, settings: dict, credentials: dict[str, Secret],
           *, check: bool) -> None:
    sieve = sieve_from(ctx)
    org: Organization = sieve.control_plane.organization(ctx.obj["slug"])
    if check:
        reached = check_credentials(sieve.control_plane, org, source, settings, credentials)
        click.echo(f"checked: {reached}")
    connection = sieve.control_plane.add_connection(org, source, settings, credentials)
    sieve.audit.append("connection.added", org_id=org.id, target=connection.id,
                       details={"source": source})
    click.echo(f"{source} connection {connection.id} added to {org.slug}")


@click.group()
@click.argument("slug")
@click.pass_context
def connect(ctx: click.Context, slug: str) -> None:
    """Connect organization SLUG to a source. Secrets are read from the environment variable
    you name (or a hidden prompt), never from the command line, and stored encrypted.

    \b
    Examples:
      GH_TOKEN=... sieve connect acme github --owner acme --token-env GH_TOKEN
      sieve connect acme jira --base-url https://acme.atlassian.net \\
            --email-env JIRA_EMAIL --token-env JIRA_TOKEN --projects PAY,WEB
      sieve connect acme git --path ~/src/payments
    """
    ctx.obj = {"slug": slug}


@connect.command("github")
@click.option("--no-check", is_flag=True,
              help="Store without first checking the credentials with one request.")
@click.option("--owner", required=True, help="Organization or user that owns the repositories.")
@click.option("--repos", help="Comma-separated repository names (default: all of the owner's).")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the token.")
@click.option("--base-url", default="https://api.github.com", show_default=True,
              help="API root; for GitHub Enterprise Server use https://HOST/api/v3.")
@click.pass_context
def connect_github(ctx, owner, repos, token_env, base_url, no_check) -> None:
    """GitHub (github.com or Enterprise Server). A fine-grained read-only token suffices."""
    settings = {"owner": owner, "repos": _split(repos), "base_url": validate_base_url(base_url)}
    token = read_secret(token_env, what="GitHub token", option="--token-env")
    _store(ctx, "github", settings, {"token": token}, check=not no_check)


@connect.command("gitlab")
@click.option("--no-check", is_flag=True,
              help="Store without first checking the credentials with one request.")
@click.option("--group", "group_path", required=True, help="Group (full path) to read.")
@click.option("--projects", help="Comma-separated project paths (default: all in the group).")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the token.")
@click.option("--base-url", default="https://gitlab.com", show_default=True,
              help="GitLab host, e.g. https://gitlab.example.com for self-hosted.")
@click.pass_context
def connect_gitlab(ctx, group_path, projects, token_env, base_url, no_check) -> None:
    """GitLab (gitlab.com or self-hosted). A token with read_api scope suffices."""
    settings = {"group": group_path, "projects": _split(projects),
                "base_url": validate_base_url(base_url)}
    token = read_secret(token_env, what="GitLab token", option="--token-env")
    _store(ctx, "gitlab", settings, {"token": token}, check=not no_check)


@connect.command("jira")
@click.option("--no-check", is_flag=True,
              help="Store without first checking the credentials with one request.")
@click.option("--base-url", required=True, help="Site URL, e.g. https://acme.atlassian.net.")
@click.option("--email-env", metavar="VAR", help="Environment variable holding the account email.")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the API token.")
@click.option("--projects", help="Comma-separated project keys (default: all visible).")
@click.pass_context
def connect_jira(ctx, base_url, email_env, token_env, projects, no_check) -> None:
    """Jira Cloud (basic auth with an account email and API token)."""
    settings = {"base_url": validate_base_url(base_url), "projects": _split(projects)}
    email = read_secret(email_env, what="Jira account email", option="--email-env")
    token = read_secret(token_env, what="Jira API token", option="--token-env")
    _store(ctx, "jira", settings, {"email": email, "token": token}, check=not no_check)


@connect.command("slack")
@click.option("--no-check", is_flag=True,
              help="Store without first checking the credentials with one request.")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the bot token.")
@click.option("--base-url", default="https://slack.com", show_default=True, help="Slack API host.")
@click.pass_context
def connect_slack(ctx, token_env, base_url, no_check) -> None:
    """Slack, public channels only (bot scopes channels:read, channels:history, users:read)."""
    settings = {"base_url": validate_base_url(base_url)}
    token = read_secret(token_env, what="Slack bot token", option="--token-env")
    _store(ctx, "slack", settings, {"token": token}, check=not no_check)


@connect.command("git")
@click.option("--no-check", is_flag=True,
              help="Store without first checking the credentials with one request.")
@click.option("--path", "repo_path", required=True, type=click.Path(file_okay=False),
              help="A local clone; only commit metadata is read from it.")
@click.pass_context
def connect_git(ctx, repo_path, no_check) -> None:
    """A plain git repository on this machine (no credentials)."""
    path = Path(repo_path).expanduser().resolve()
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        raise click.UsageError(f"--path {path}: not a git repository (no .git found there).")
    _store(ctx, "git", {"path": str(path)}, {}, check=not no_check)


@click.command("connections")
@click.argument("slug", required=False)
@click.option("--all", "include_removed", is_flag=True, help="Include removed connections.")
@click.pass_context
def list_connections(ctx: click.Context, slug: str | None, include_removed: bool) -> None:
    """List connections (all organizations, or SLUG's). Secrets are never shown.

    \b
    Example:
      sieve connections acme
    """
    control_plane = sieve_from(ctx).control_plane
    org = control_plane.organization(slug) if slug else None
    slugs = {o.id: o.slug for o in control_plane.organizations()}
    rows = [[slugs.get(c.org_id, c.org_id), c.id, c.source, c.status,
             json.dumps(c.settings, sort_keys=True), ",".join(c.credential_fields) or "-",
             c.last_synced_at.isoformat(timespec="seconds") if c.last_synced_at else "never"]
            for c in control_plane.connections(org, include_removed=include_removed)]
    if not rows:
        click.echo("no connections: `sieve connect SLUG SOURCE --help` shows how to add one")
        return
    echo_table(["org", "id", "source", "status", "settings", "secrets", "last_synced"], rows)


@click.command()
@click.argument("slug")
@click.argument("connection_id")
@click.pass_context
def disconnect(ctx: click.Context, slug: str, connection_id: str) -> None:
    """Remove a connection: its credentials and sync state are wiped now, and a deletion request
    removes all data that came through it.

    \b
    Example:
      sieve disconnect acme conn_1a2b3c4d5e6f
    """
    sieve = sieve_from(ctx)
    org = sieve.control_plane.organization(slug)
    connection = sieve.control_plane.connection(connection_id)
    if connection.org_id != org.id:
        raise click.UsageError(f"Connection {connection_id} does not belong to {slug}.")
    if connection.status == "removed":
        click.echo(f"connection {connection_id} was already removed")
        return
    sieve.control_plane.remove_connection(connection)
    request_id = sieve.control_plane.request_deletion(
        org, "connection", subject_ref=connection.id, subject_kind="connection")
    sieve.audit.append("connection.removed", org_id=org.id, target=connection.id,
                       details={"source": connection.source, "deletion_request": request_id})
    click.echo(f"connection {connection_id} removed: credentials wiped; "
               f"deletion request {request_id} will remove its data")


def register(group: click.Group) -> None:
    group.add_command(connect)
    group.add_command(list_connections)
    group.add_command(disconnect)
