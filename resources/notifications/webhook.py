"""Sending to an organization's webhook: a Slack incoming webhook (``{"text", "blocks"}``) or a
generic JSON receiver, through the shared HTTP layer (timeouts, retries with backoff on 5xx,
429 and connection failures).

The URL is a secret — a Slack webhook's path is its only credential — so it never reaches a
log line, an exception or the control plane's failure record: the client hides request
paths, urllib3's own debug line is rewritten, and failures are worded from the host and the
status alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from resources.errors import SieveError
from resources.http import (
    ErrorContext,
    HttpClient,
    InvalidBaseUrlError,
    RateLimitExhaustedError,
    RetryPolicy,
    SourceRequestError,
    SourceUnreachableError,
    validate_base_url,
)
from resources.http.client import HIDDEN_PATH
from resources.notifications.events import OPENED, Notification, notification_fields
from resources.security.vault import Secret

# A sync step waits at most about this long for a receiver that is down; what was not
# delivered is sent at the next sync.
WEBHOOK_RETRY = RetryPolicy(max_retries=3, backoff_base=1.0, backoff_cap=8.0, max_total_wait=30.0)
WEBHOOK_TIMEOUT = (5.0, 15.0)
WEBHOOK_UNREACHABLE_BUDGET = 10.0
# Slack takes at most 50 blocks a message; one block per notification and a header.
NOTIFICATIONS_PER_MESSAGE = 20
SLACK_HOST = "hooks.slack.com"


class WebhookError(SieveError):
    """A delivery that failed; the message names the host and the cause, never the URL."""


def check_webhook_url(url: str) -> str:
    """The URL, stripped, if it can be a webhook: https (http only on loopback), no user or
    password. The error message shows the scheme and host only."""
    url = url.strip()
    parts = urlsplit(url)
    try:
        validate_base_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    except InvalidBaseUrlError as problem:
        raise InvalidBaseUrlError(str(problem).replace("base URL", "webhook URL")) from None
    return url


def default_payload_format(url: str) -> str:
    return "slack" if urlsplit(url).hostname == SLACK_HOST else "json"


def messages(org_slug: str, notifications: list[Notification], payload_format: str,
             ) -> Iterator[tuple[list[Notification], dict[str, Any]]]:
    """The notifications in messages of at most NOTIFICATIONS_PER_MESSAGE, each with its
    payload."""
    for start in range(0, len(notifications), NOTIFICATIONS_PER_MESSAGE):
        batch = notifications[start:start + NOTIFICATIONS_PER_MESSAGE]
        if payload_format == "slack":
            yield batch, slack_payload(org_slug, batch)
        else:
            yield batch, {"source": "sieve", "organization": org_slug,
                          "notifications": [notification_fields(n) for n in batch]}


def slack_payload(org_slug: str, notifications: list[Notification]) -> dict[str, Any]:
    opened = sum(1 for n in notifications if n.event == OPENED)
    summary = (f"Sieve · {org_slug}: {opened} new signal{'s' if opened != 1 else ''}, "
               f"{len(notifications) - opened} resolved")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(summary)}*"}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": slack_line(n)}}
               for n in notifications]
    return {"text": summary, "blocks": blocks}


def slack_line(notification: Notification) -> str:
    """One notification in Slack's mrkdwn: what, about what, by how much, and a link."""
    fields = notification_fields(notification)
    mark = (":red_circle:" if fields["severity"] == "severe" else ":large_orange_circle:") \
        if notification.event == OPENED else ":white_check_mark:"
    what = "New" if notification.event == OPENED else "Resolved"
    about = _about(fields)
    if fields["link"]:
        about = f"<{fields['link']}|{about}>"
    line = f"{mark} *{what}* · {fields['severity']} · `{fields['kind']}` · {about}"
    if fields["observed_value"] is not None and fields["threshold_value"] is not None:
        line += (f" — {fields['observed_value']:g} {fields['direction']} the threshold "
                 f"{fields['threshold_value']:g}")
    return line


def _about(fields: dict[str, Any]) -> str:
    if fields["repository"] and fields["number"] is not None:
        about = f"{fields['repository']}#{fields['number']}"
    elif fields["subject_type"] == "person":
        about = "one person"
    elif fields["repository"]:
        about = fields["repository"]
    else:
        about = fields["subject"] or fields["subject_type"]
    if fields["team"] and fields["subject_type"] != "team":
        about += f" (team {fields['team']})"
    return _escape(about)


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def check_message_payload(org_slug: str, payload_format: str) -> dict[str, Any]:
    text = (f"Sieve · {org_slug}: a test message. New and resolved signals will be sent here "
            "after each sync.")
    if payload_format == "slack":
        return {"text": text}
    return {"source": "sieve", "organization": org_slug, "test": True, "text": text,
            "notifications": []}


def webhook_client(org_slug: str, url: Secret) -> tuple[HttpClient, str]:
    """A client for the webhook's origin and the path (with query) to post to."""
    parts = urlsplit(url.reveal())
    client = HttpClient(urlunsplit((parts.scheme, parts.netloc, "", "", "")), None,
                        source="webhook", context=ErrorContext(org_slug, "notification webhook"),
                        timeout=WEBHOOK_TIMEOUT, retry=WEBHOOK_RETRY,
                        unreachable_budget=WEBHOOK_UNREACHABLE_BUDGET, hide_paths=True)
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return client, path


def post(client: HttpClient, path: str, payload: dict[str, Any]) -> None:
    """POST one message; a failure after the retries raises WebhookError, worded safely."""
    try:
        with urllib3_logs_without(path):
            client.send_json(path, payload)
    except SourceRequestError as failure:
        raise WebhookError(failure_reason(failure)) from None


def failure_reason(failure: SourceRequestError) -> str:
    """What went wrong, from the error's type, host and status: never its message, which
    could quote the receiver."""
    host = failure.host or "the webhook's host"
    if isinstance(failure, SourceUnreachableError):
        cause = f"{host} could not be reached"
    elif isinstance(failure, RateLimitExhaustedError):
        cause = f"{host} kept asking Sieve to slow down (429)"
    elif failure.status is not None:
        cause = (f"{host} refused the message ({failure.status}): check the URL, or give a new "
                 "one with `sieve notify`")
    else:
        cause = f"{host} did not accept the message after retries (server errors or timeouts)"
    return cause


@contextlib.contextmanager
def urllib3_logs_without(path: str) -> Iterator[None]:
    """urllib3 logs each request line at DEBUG, path included; while posting, that path is
    replaced before any handler sees the record."""
    logger = logging.getLogger("urllib3.connectionpool")
    secret_path = path.split("?", 1)[0]
    if len(secret_path) <= 1:  # a receiver at the root: no path to hide
        yield
        return

    def hide(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if secret_path in message or path in message:
            record.msg = message.replace(path, HIDDEN_PATH).replace(secret_path, HIDDEN_PATH)
            record.args = ()
        return True

    logger.addFilter(hide)
    try:
        yield
    finally:
        logger.removeFilter(hide)
