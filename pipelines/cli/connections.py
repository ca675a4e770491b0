"""``sieve connect``, ``sieve connections`` and ``sieve disconnect``."""

from __future__ import annotations

import json
import re
import sys

import click

from pipelines.cli.context import (
    authorized,
    echo_table,
    read_secret,
    sieve_from,
    visible_organizations,
)
from resources.errors import SieveError
from resources.http import MalformedResponseError, SourceUnavailableError
from resources.security.vault import Secret
from resources.sources import SOURCES
from resources.sources.connect import (
    AuthMode,
    ConnectOption,
    ConnectSpec,
    normalised,
)
from resources.sources.connector import check_credentials
from resources.sources.credentials import auth_kind
from resources.sources.revocation import revoke_at_source
from resources.storage.control_plane import Organization
from resources.storage.control_plane.credentials import credential_health


def _store(ctx: click.Context, source: str, settings: dict, credentials: dict[str, Secret],
           *, check: bool, note: str | None = None) -> None:
    sieve = sieve_from(ctx)
    org: Organization = sieve.control_plane.organization(ctx.obj["slug"])
    if check:
        try:
            reached = check_credentials(sieve.control_plane, org, source, settings, credentials)
        except (SourceUnavailableError, MalformedResponseError) as error:
            raise ConnectCheckError(connect_check_advice(error, source, settings)) from None
        click.echo(f"checked: {reached}")
    connection = sieve.control_plane.add_connection(org, source, settings, credentials)
    sieve.audit.append("connection.added", org_id=org.id, target=connection.id,
                       details={"source": source})
    click.echo(f"{source} connection {connection.id} added to {org.slug}")
    if note:
        click.echo(note)


class ConnectCheckError(SieveError):
    pass


def connect_check_advice(error: SourceUnavailableError, source: str, settings: dict, *,
                         step: str = "check", unchecked: str = "add --no-check") -> str:
    """What failed, then what to check now: the HTTP layer's own advice ("re-run the sync
    later") is for a sync, and nothing has been stored yet to sync."""
    # The HTTP layer's message is one sentence of fact, then advice: keep the fact.
    fact = re.split(r"(?<=[.)])\s+(?=[A-Z])", str(error), maxsplit=1)[0].rstrip(".")
    where = settings.get("base_url") or error.host
    return (f"the {source} {step} failed: {fact}. Check that {where} is the right address "
            "and is reachable from this machine (VPN, proxy, firewall), then run the command "
            f"again; or {unchecked} to store the connection unchecked (the first sync will "
            "then report the same problem).")


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


def _connect_command(name: str, spec: ConnectSpec) -> click.Command:
    """``sieve connect SLUG <name>``, built from the source's declared settings."""

    @click.pass_context
    def command(ctx: click.Context, no_check: bool, **values) -> None:
        authorized(ctx, ctx.obj["slug"], "operator")
        try:
            mode = spec.mode_for(values)
            settings = spec.settings({o.key: values.get(o.key) for o in spec.options})
            if mode is not None:
                settings.update({o.key: normalised(o, values.get(o.key)) for o in mode.options})
                settings["auth"] = mode.kind
        except SieveError as error:
            raise click.UsageError(str(error)) from None
        # What the service says about the credentials is reported as it is, not as misuse.
        credentials = _credentials(ctx, name, spec, mode, settings, values)
        _choose_discovered(ctx.obj["slug"], name, spec, settings, credentials)
        _store(ctx, name, settings, credentials, check=not no_check,
               note=mode.stored_note if mode else None)

    examples = "\n".join(f"  {example}" for example in spec.examples)
    command.__doc__ = f"{spec.summary}\n\n\b\nExamples:\n{examples}"
    params = [click.Option(["--no-check"], is_flag=True, help="Store without first checking "
                           "the credentials with one request.")]
    for option in spec.all_options():
        params.append(_click_option(option, required=option.required
                                    and option.key != spec.discover_key))
    secrets = spec.secrets + tuple(s for mode in spec.auth_modes for s in mode.secrets)
    for secret in secrets:
        params.append(click.Option([secret.flag, f"{secret.key}_env"], metavar="VAR",
                                   help=secret.help))
    return click.Command(name, callback=command, params=params, help=command.__doc__)


def _click_option(option: ConnectOption, *, required: bool) -> click.Option:
    if option.kind == "flag":
        return click.Option([option.flag, option.key], is_flag=True, help=option.help)
    path_type = {"directory": click.Path(file_okay=False),
                 "file": click.Path(dir_okay=False)}.get(option.kind)
    return click.Option([option.flag, option.key], required=required, default=option.default,
                        show_default=option.default is not None, help=option.help,
                        type=path_type)


def _credentials(ctx: click.Context, source: str, spec: ConnectSpec, mode: AuthMode | None,
                 settings: dict, values: dict) -> dict[str, Secret]:
    """The credentials to seal: the default secrets, or what the chosen auth mode makes."""
    secrets = mode.secrets if mode else spec.secrets
    read = {secret.key: read_secret(values.get(f"{secret.key}_env"), what=secret.what,
                                    option=secret.flag)
            for secret in secrets}
    if mode is not None and mode.kind == "oauth":
        from pipelines.cli.oauth_connect import oauth_credentials  # loads authlib

        read = oauth_credentials(ctx.obj["slug"], source, mode, settings, read)
    if mode is not None and mode.prepare is not None:
        return mode.prepare(settings, read, ctx.obj["slug"])
    return read


def stdin_is_terminal() -> bool:
    """Whether a person can answer a prompt (a pipe or a scheduler cannot)."""
    return sys.stdin.isatty()


def _choose_discovered(slug: str, source: str, spec: ConnectSpec, settings: dict,
                       credentials: dict[str, Secret]) -> None:
    """Without the discoverable option (e.g. --owner), list what the credentials can see and
    ask which to connect; with no one to ask, say what to pass."""
    key, everything = spec.discover_key, spec.discover_all
    if key is None or spec.discover is None:
        return
    option = next(o for o in spec.all_options() if o.key == key)
    if settings.get(key) and everything and settings.get(everything):
        raise click.UsageError(f"Pass {option.flag} or {_flag(spec, everything)}, not both.")
    if settings.get(key) or (everything and settings.get(everything)):
        return
    try:
        choices = spec.discover(settings, credentials, slug)
    except (SourceUnavailableError, MalformedResponseError) as error:
        raise ConnectCheckError(connect_check_advice(
            error, source, settings, step="listing of what the credentials can see",
            unchecked=f"pass {option.flag} and --no-check")) from None
    if not choices:
        raise click.UsageError(f"These credentials can see nothing to connect; pass "
                               f"{option.flag}.")
    if not stdin_is_terminal():
        raise click.UsageError(_what_to_pass(spec, option, choices))
    _ask(spec, option, choices, settings)


def _ask(spec: ConnectSpec, option: ConnectOption, choices: list[tuple[str, str]],
         settings: dict) -> None:
    """Number the choices and store the answer: one value, or several for a list option."""
    for number, (value, what) in enumerate(choices, start=1):
        click.echo(f"  {number}. {value}  ({what})")
    if option.kind != "list":
        picked = click.prompt(f"Which one ({option.flag})", type=click.IntRange(1, len(choices)))
        settings[option.key] = choices[picked - 1][0]
        return
    everything = spec.discover_all
    hint = f", or 'all' for {_flag(spec, everything)}" if everything else ""
    answer = click.prompt(f"Which ones ({option.flag}): numbers separated by commas{hint}",
                          value_proc=lambda text: _numbers(text, len(choices), everything))
    if answer == "all":
        settings[everything] = True
    else:
        settings[option.key] = [choices[number - 1][0] for number in answer]


SHOWN_CHOICES = 20


def _what_to_pass(spec: ConnectSpec, option: ConnectOption,
                  choices: list[tuple[str, str]]) -> str:
    """The refusal when no one can answer: the option to pass, with what it could name."""
    shown = ", ".join(f"{value} ({what})" for value, what in choices[:SHOWN_CHOICES])
    more = (f" and {len(choices) - SHOWN_CHOICES} more" if len(choices) > SHOWN_CHOICES
            else "")
    example = ",".join(value for value, _ in choices[:2]) if option.kind == "list" \
        else choices[0][0]
    alternative = (f", or {_flag(spec, spec.discover_all)} for every one, now and later"
                   if spec.discover_all else "")
    return (f"No terminal to ask which to connect: pass {option.flag} with "
            f"{'some' if option.kind == 'list' else 'one'} of {shown}{more} "
            f"(e.g. {option.flag} {example}){alternative}.")


def _numbers(text: str, count: int, everything: str | None) -> list[int] | str:
    """The numbers typed at a multiple-choice prompt (or 'all', when that is offered)."""
    if everything and text.strip().lower() == "all":
        return "all"
    try:
        numbers = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= number <= count for number in numbers):
        raise click.BadParameter(f"type numbers from 1 to {count}, separated by commas.")
    return sorted(set(numbers))


def _flag(spec: ConnectSpec, key: str) -> str:
    return next(o.flag for o in spec.all_options() if o.key == key)


for _source in SOURCES.values():
    connect.add_command(_connect_command(_source.name, _source.connect))


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
    orgs = [authorized(ctx, slug, "operator")[1]] if slug else visible_organizations(
        ctx, "operator")
    rows = [[org.slug, c.id, c.source, *_health_cells(control_plane, c),
             json.dumps(c.settings, sort_keys=True), ",".join(c.credential_fields) or "-",
             _when(c.last_synced_at)]
            for org in orgs
            for c in control_plane.connections(org, include_removed=include_removed)]
    if not rows:
        click.echo("no connections: `sieve connect SLUG SOURCE --help` shows how to add one")
        return
    echo_table(["org", "id", "source", "status", "auth", "expires", "last_used", "settings",
                "secrets", "last_synced"], rows)


def _when(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


def _health_cells(control_plane, connection) -> list[str]:
    """Status (with needs_reauth's reason), auth kind, expiry of what expires, last use."""
    health = credential_health(control_plane, connection.id)
    status = connection.status
    if health.needs_reauth and status == "active":
        status = f"needs_reauth: {health.needs_reauth}"
    expires = health.expires_at.isoformat(timespec="seconds") if health.expires_at else "-"
    return [status, auth_kind(connection.settings), expires, _when(health.last_used_at)]


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
    sieve, org, _ = authorized(ctx, slug, "operator")
    connection = sieve.control_plane.connection(connection_id)
    if connection.org_id != org.id:
        raise click.UsageError(f"Connection {connection_id} does not belong to {slug}.")
    if connection.status == "removed":
        click.echo(f"connection {connection_id} was already removed")
        return
    revocation = revoke_at_source(connection.source, connection.settings,
                                  sieve.control_plane.credentials(connection))
    sieve.control_plane.remove_connection(connection)
    request_id = sieve.control_plane.request_deletion(
        org, "connection", subject_ref=connection.id, subject_kind="connection")
    sieve.audit.append("connection.removed", org_id=org.id, target=connection.id,
                       details={"source": connection.source, "deletion_request": request_id,
                                "revocation": revocation})
    click.echo(f"connection {connection_id} removed: credentials wiped ({revocation}); "
               f"deletion request {request_id} will remove its data")
