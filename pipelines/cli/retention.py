"""``sieve forget``, ``sieve org terminate|delete``, ``sieve deletions``, ``sieve retention run``
and ``sieve audit report``: deletion requests and the routine access audit.

Requests return at once; the retention sensors carry them out (or ``sieve retention run``,
without a Dagster daemon). The subject of ``forget`` is sealed at once and never reaches
Dagster: runs carry the request id only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from pipelines.cli.context import (
    authorized,
    echo_table,
    installation_admin,
    sieve_from,
    visible_organizations,
)
from resources.retention.report import access_report
from resources.retention.requests import (
    MAX_GRACE_DAYS,
    NOTHING_MATCHED,
    DeletionRequest,
    get_request,
    list_requests,
    record_request,
    terminate_organization,
)
from resources.security.vault import Secret


@click.command()
@click.argument("slug")
@click.option("--email", help="Forget the person with this email address.")
@click.option("--login", help="Forget the person with this login or handle (any source).")
@click.option("--person", "person_id", help="Forget this pseudonymous person id (p_…).")
@click.pass_context
def forget(ctx: click.Context, slug: str, email: str | None, login: str | None,
           person_id: str | None) -> None:
    """Forget one person of organization SLUG: every row about them (or, with
    person_deletion_mode: delink, every identifier in their rows), in every store.

    \b
    Examples:
      sieve forget acme --email someone@example.com
      sieve forget acme --login octo-alice
      sieve forget acme --person p_0123456789abcdef
    """
    given = [(kind, value) for kind, value in (("email", email), ("login", login),
                                               ("person", person_id)) if value]
    if len(given) != 1:
        raise click.UsageError("Name the person with exactly one of --email, --login, --person.")
    kind, value = given[0]
    sieve, org, _ = authorized(ctx, slug, "operator")
    request = record_request(sieve.control_plane, org, "person", subject_kind=kind,
                             subject=Secret(value) if kind != "person" else None,
                             subject_ref=value if kind == "person" else None)
    sieve.audit.append("deletion.requested", org_id=org.id, target=request.id,
                       details={"scope": "person", "subject_kind": kind})
    click.echo(f"deletion request {request.id} recorded: the {kind} is sealed until the "
               "deletion is verified, then wiped. `sieve deletions` shows its progress.")


@click.command("terminate")
@click.argument("slug")
@click.option("--grace-days", default=MAX_GRACE_DAYS, show_default=True,
              type=click.IntRange(0, MAX_GRACE_DAYS),
              help="Days before everything of the org is purged (at most 30).")
@click.pass_context
def org_terminate(ctx: click.Context, slug: str, grace_days: int) -> None:
    """Terminate organization SLUG's account: it takes no new connections, and all its data is
    purged when the grace period ends (the account_termination_sensor launches the purge).

    \b
    Example:
      sieve org terminate acme --grace-days 30
    """
    sieve, org, _ = authorized(ctx, slug, "admin")
    request = terminate_organization(sieve.control_plane, org, grace_days=grace_days)
    sieve.audit.append("organization.terminated", org_id=org.id, target=request.id,
                       details={"grace_days": grace_days})
    click.echo(f"organization {org.slug} terminated: purge {request.id} is due at "
               f"{request.not_before.isoformat(timespec='seconds')}")


@click.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def org_delete(ctx: click.Context, slug: str, yes: bool) -> None:
    """Delete organization SLUG now: its database and exports are shredded, its data key
    destroyed, its Dagster partition and runs removed. This cannot be undone.

    \b
    Example:
      sieve org delete acme --yes
    """
    sieve, org, _ = authorized(ctx, slug, "admin")
    if not yes:
        click.confirm(f"Delete organization {org.slug} and all its data for good?", abort=True)
    request = record_request(sieve.control_plane, org, "organization",
                             subject_kind="organization", subject_ref=org.id)
    sieve.audit.append("deletion.requested", org_id=org.id, target=request.id,
                       details={"scope": "organization"})
    click.echo(f"deletion request {request.id} recorded for organization {org.slug}")


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def nothing_matched_hint(slug: str) -> str:
    return (f"nothing matched: no stored row or setting names that identifier, so nothing was "
            f"erased. Find the person's identifiers with\n  sieve query {slug} \"select system, "
            "login, email, person_id from metadata.identity_accounts order by login\" "
            f"--operator\nthen `sieve forget {slug} --person p_…` (or the exact --login/--email).")


def deletion_notes(request: DeletionRequest) -> str:
    """What a finished request did beyond rows: nothing matched, settings edited."""
    certificate = request.certificate or {}
    notes = []
    if request.status == NOTHING_MATCHED:
        notes.append("nothing matched")
    changed = certificate.get("details", {}).get("settings_file") or []
    if changed:
        notes.append("removed from settings: " + ", ".join(changed))
    if certificate.get("verification", {}).get("settings_file_names_subject"):
        notes.append("settings file still names them: edit it, then rerun")
    return "; ".join(notes)


@click.command()
@click.argument("slug", required=False)
@click.pass_context
def deletions(ctx: click.Context, slug: str | None) -> None:
    """List deletion requests (all organizations, or SLUG's) and their status.

    \b
    Example:
      sieve deletions acme
    """
    orgs = [authorized(ctx, slug, "operator")[1]] if slug else visible_organizations(
        ctx, "operator")
    control_plane = sieve_from(ctx).control_plane
    slugs = {o.id: o.slug for o in orgs}
    rows = []
    for request in (r for org in orgs for r in list_requests(control_plane, org_id=org.id)):
        certificate = request.certificate or {}
        verified = {True: "yes", False: "NO"}.get(certificate.get("verified"), "")
        rows.append([request.id, slugs.get(request.org_id, request.org_id), request.scope,
                     request.subject_kind, request.status, _when(request.requested_at),
                     _when(request.not_before), _when(request.completed_at), verified,
                     sum(certificate.get("rows", {}).values()) if certificate else "",
                     deletion_notes(request)])
    if not rows:
        click.echo("no deletion requests")
        return
    echo_table(["id", "org", "scope", "subject", "status", "requested_at", "not_before",
                "completed_at", "verified", "rows", "notes"], rows)
    unmatched = [r for r in rows if r[4] == NOTHING_MATCHED]
    if unmatched:
        click.echo("\n" + nothing_matched_hint(unmatched[-1][1]))


@click.group()
def retention() -> None:
    """Retention and deletion without a Dagster daemon.

    \b
    Example:
      sieve retention run acme
    """


@retention.command("run")
@click.argument("slug", required=False)
@click.pass_context
def retention_run(ctx: click.Context, slug: str | None) -> None:
    """Evaluate the retention sensors once and run the deletion jobs they launch, here and now
    (in the local Dagster instance, so the runs show in the UI).

    \b
    Example:
      sieve retention run acme
    """
    from pipelines.retention import run_retention_once
    from pipelines.runs import open_instance

    # One organization's retention is its operators' business; every organization's, an admin's.
    if slug:
        sieve, org, _ = authorized(ctx, slug, "operator")
        org_id = org.id
    else:
        sieve, _ = installation_admin(ctx)
        org_id = None
    with open_instance(sieve.settings) as instance:
        outcomes = run_retention_once(sieve, instance, org_id)
    failed = False
    for outcome in outcomes:
        if outcome.skipped is not None:
            click.echo(f"{outcome.sensor}: skipped ({outcome.skipped})")
        else:
            request = get_request(sieve.control_plane, outcome.request_id)
            state = "FAILED" if not outcome.success else request.status.replace("_", " ")
            click.echo(f"{outcome.sensor}: {outcome.job} for {outcome.request_id}: {state}")
            if request.status == NOTHING_MATCHED:
                slug_of = sieve.control_plane.organization(request.org_id).slug
                click.echo("  " + nothing_matched_hint(slug_of).replace("\n", "\n  "))
            failed = failed or not outcome.success
    if failed:
        click.echo("some deletions failed: `sieve deletions` shows their certificates", err=True)
        ctx.exit(1)


def parse_since(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhw])", value.strip())
    if not match:
        raise click.BadParameter(f"'{value}': use a number and d, h or w (e.g. 7d, 12h, 2w).")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{"d": {"days": amount}, "h": {"hours": amount},
                        "w": {"weeks": amount}}[unit])


@click.command("report")
@click.option("--since", default="7d", show_default=True, help="Period to cover: 7d, 12h, 2w…")
@click.pass_context
def audit_report(ctx: click.Context, since: str) -> None:
    """The routine access audit: who accessed which organization's data and how often, each
    operator read of the metadata schema (who, when), and the deletions done and pending
    (from the hash-chained audit log).

    \b
    Example:
      sieve audit report --since 30d
    """
    sieve, _ = installation_admin(ctx)
    start = datetime.now(UTC) - parse_since(since)
    slugs = {o.id: o.slug for o in sieve.control_plane.organizations()}
    report = access_report(sieve.audit.entries(since=start),
                           list_requests(sieve.control_plane), slugs)
    click.echo(f"access audit since {start.isoformat(timespec='seconds')} "
               f"({report.entries} audit entries)")
    click.echo("\ndata access (who, organization, what, how often, last):")
    if report.accesses:
        echo_table(["actor", "org", "action", "interface", "count", "last_at"],
                   [[a.actor, a.org, a.action, a.interface, a.count, _when(a.last_at)]
                    for a in report.accesses])
    else:
        click.echo("  none")
    click.echo(f"\noperator reads of the metadata schema (names, emails): "
               f"{len(report.operator_reads)}")
    if report.operator_reads:
        echo_table(["actor", "org", "interface", "at"],
                   [[r.actor, r.org, r.interface, _when(r.at)] for r in report.operator_reads])
    click.echo(f"\ndeletions done in the period: {len(report.done)}")
    if report.done:
        echo_table(["id", "org", "scope", "completed_at", "verified", "rows"],
                   [[d.id, d.org, d.scope, _when(d.completed_at), d.verified, d.rows]
                    for d in report.done])
    click.echo(f"\ndeletions pending: {len(report.pending)}")
    if report.pending:
        echo_table(["id", "org", "scope", "status", "requested_at", "not_before"],
                   [[p.id, p.org, p.scope, p.status, _when(p.requested_at), _when(p.not_before)]
                    for p in report.pending])
