"""``sieve notify``: an organization's insight notifications — off by default; on once a webhook
URL is given (sealed in the vault, never shown again)."""

from __future__ import annotations

import click

from pipelines.cli.context import authorized, read_secret
from resources.storage.control_plane.notifications import PAYLOAD_FORMATS


@click.command()
@click.argument("slug")
@click.option("--webhook-url-env", metavar="VAR", default=None,
              help="Turn notifications on: the environment variable holding the webhook URL "
                   "(a Slack incoming webhook, or any receiver of JSON). Sealed in the vault.")
@click.option("--format", "payload_format", type=click.Choice(PAYLOAD_FORMATS), default=None,
              help="With --webhook-url-env: slack ({\"text\", \"blocks\"}) or json (the "
                   "signals' fields). Default: slack for hooks.slack.com, json otherwise.")
@click.option("--off", is_flag=True, help="Turn notifications off: the sealed URL and the "
                                          "record of what was sent are wiped.")
@click.option("--test", "send_test", is_flag=True,
              help="Send a test message to the webhook now, and say whether it arrived.")
@click.pass_context
def notify(ctx, slug, webhook_url_env, payload_format, off, send_test) -> None:
    """Notifications of organization SLUG's new and resolved signals to a webhook, after each
    sync. Off by default. Each signal's opening and resolution is sent once, with its kind,
    severity, repository, number and a link — never a person's name, login, email or id.
    Without options, shows whether notifications are on and how the last delivery went.

    \b
    Examples:
      SLACK_WEBHOOK_URL=https://hooks.slack.com/services/… sieve notify acme --webhook-url-env SLACK_WEBHOOK_URL
      sieve notify acme --test
      sieve notify acme
      sieve notify acme --off
    """
    from resources.notifications.delivery import send_check_message
    from resources.notifications.webhook import (
        WebhookError,
        check_webhook_url,
        default_payload_format,
    )
    from resources.security.vault import Secret
    from resources.storage.control_plane.notifications import set_webhook, turn_off

    if off and (webhook_url_env or send_test):
        raise click.UsageError("--off turns notifications off; it takes no other option.")
    if payload_format and not webhook_url_env:
        raise click.UsageError("--format goes with the webhook URL (--webhook-url-env VAR).")
    sieve, org, person = authorized(ctx, slug, "operator")
    if off:
        was_on = turn_off(sieve.control_plane, org)
        sieve.audit.append("notifications.off", org_id=org.id, target="webhook",
                           details={"was_on": was_on}, actor=person.actor)
        click.echo(f"Notifications of {slug} are off" + ("" if was_on else " (they were).")
                   + (": the webhook URL and the record of what was sent are wiped."
                      if was_on else ""))
        return
    if webhook_url_env:
        url = read_secret(webhook_url_env, what="webhook URL", option="--webhook-url-env")
        checked = Secret(check_webhook_url(url.reveal()))
        chosen = payload_format or default_payload_format(checked.reveal())
        set_webhook(sieve.control_plane, org, checked, chosen, person.actor)
        sieve.audit.append("notifications.on", org_id=org.id, target="webhook",
                           details={"format": chosen}, actor=person.actor)
        click.echo(f"Notifications of {slug} are on ({chosen} payloads); the URL is sealed in "
                   "the vault. New and resolved signals are sent after each sync; "
                   f"`sieve notify {slug} --test` sends a test message now.")
    if send_test:
        try:
            send_check_message(sieve.control_plane, org)
        except WebhookError as failure:
            raise WebhookError(f"The test message to the webhook of {slug} was not "
                               f"delivered: {failure}.") from None
        click.echo(f"Test message delivered to the webhook of {slug}.")
        return
    if not webhook_url_env:
        echo_status(sieve.control_plane, org)


def echo_status(control_plane, org) -> None:
    from resources.storage.control_plane.notifications import webhook_status

    status = webhook_status(control_plane, org)
    if status is None:
        click.echo(f"Notifications of {org.slug} are off (`sieve notify {org.slug} "
                   "--webhook-url-env VAR` turns them on).")
        return
    click.echo(f"Notifications of {org.slug} are on: {status.payload_format} payloads, since "
               f"{status.enabled_at:%Y-%m-%d %H:%M} UTC (by {status.enabled_by}).")
    if status.last_delivered_at:
        click.echo(f"Last delivered: {status.last_delivered_at:%Y-%m-%d %H:%M} UTC.")
    if status.last_failure and status.last_failed_at:
        click.echo(f"Last failure, {status.last_failed_at:%Y-%m-%d %H:%M} UTC: "
                   f"{status.last_failure}.")
