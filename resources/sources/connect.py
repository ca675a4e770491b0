"""What `sieve connect ORG <source>` asks for, declared by each source as plain data.

A source's ``settings.py`` lists its options (stored in the connection's settings) and its
secrets (read from a named environment variable or a hidden prompt, never from argv, and sealed
by the vault). The CLI builds one subcommand per registered source from these declarations, so
adding a source needs no CLI code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from resources.errors import SieveError
from resources.security.vault import Secret

OptionKind = Literal["text", "list", "url", "directory", "file", "flag"]


class ConnectSettingsError(SieveError):
    pass


@dataclass(frozen=True)
class ConnectOption:
    """One ``--flag VALUE`` whose value is stored in the connection's settings as ``key``."""

    flag: str
    key: str
    help: str
    kind: OptionKind = "text"
    required: bool = False
    default: str | None = None


@dataclass(frozen=True)
class ConnectSecret:
    """One secret, read from the environment variable named by ``flag`` (or a hidden prompt)."""

    flag: str
    key: str
    what: str
    help: str


@dataclass(frozen=True)
class AuthMode:
    """A way to authenticate other than the spec's own ``secrets`` (a static token), chosen by
    giving its ``trigger`` option. Its kind is stored as the connection's ``auth`` setting."""

    kind: str  # github_app | oauth | basic (see resources.sources.credentials)
    trigger: str  # key of the option that selects this mode
    options: tuple[ConnectOption, ...] = ()
    secrets: tuple[ConnectSecret, ...] = ()
    # Turns the mode's settings and secrets into the credentials to seal, and may complete the
    # settings (e.g. the installation id it discovered); may talk to the service. For ``oauth``
    # it gets the tokens the authorization issued. Called with the organization's slug last.
    prepare: Callable[[dict, dict[str, Secret], str], dict[str, Secret]] | None = None
    # For ``oauth``: the provider's name in resources.http.oauth.PROVIDERS.
    provider: str | None = None
    # Printed once the connection is stored (e.g. that the key file may now be deleted).
    stored_note: str | None = None


@dataclass(frozen=True)
class ConnectSpec:
    summary: str
    examples: tuple[str, ...]
    options: tuple[ConnectOption, ...] = ()
    secrets: tuple[ConnectSecret, ...] = ()
    # Checks the assembled settings (e.g. that a path is a git clone); raises SieveError.
    validate: Callable[[dict], None] | None = field(default=None)
    auth_modes: tuple[AuthMode, ...] = ()
    # When the option ``discover_key`` is not given: what the credentials can see, as
    # (value, description) pairs to choose from, e.g. the organizations a GitHub token sees.
    # A "list" option takes several choices. ``discover`` raises ConnectSettingsError, saying
    # what access is missing, when the credentials see nothing.
    # Called with the settings, the credentials and the organization's slug (for errors).
    discover: Callable[[dict, dict[str, Secret], str], list[tuple[str, str]]] | None = None
    discover_key: str | None = None
    # The flag option that chooses everything the credentials see, now and later (e.g.
    # ``--all-projects``): given, nothing is listed.
    discover_all: str | None = None

    def mode_for(self, values: dict) -> AuthMode | None:
        """The auth mode whose trigger was given, or None for the default secrets."""
        chosen = [mode for mode in self.auth_modes if values.get(mode.trigger)]
        if len(chosen) > 1:
            raise ConnectSettingsError("Choose one way to authenticate: "
                                       + " or ".join(_flag_of(m) for m in chosen) + ".")
        return chosen[0] if chosen else None

    def all_options(self) -> tuple[ConnectOption, ...]:
        return self.options + tuple(o for mode in self.auth_modes for o in mode.options)

    def settings(self, values: dict[str, str | None]) -> dict:
        """The connection's settings from the options' raw values, keyed by setting name."""
        settings: dict = {}
        for option in self.options:
            settings[option.key] = normalised(option, values.get(option.key))
        if self.validate is not None:
            self.validate(settings)
        return settings


def _flag_of(mode: AuthMode) -> str:
    return next(o.flag for o in mode.options if o.key == mode.trigger)


def normalised(option: ConnectOption, value: str | None):
    if option.kind == "flag":
        return bool(value)
    if option.kind == "list":
        return [v.strip() for v in (value or "").split(",") if v.strip()]
    if value is None:
        return None
    if option.kind == "url":
        from resources.http.urls import validate_base_url  # the HTTP layer loads requests

        return validate_base_url(value)
    return value


API_CHOICES = ("graphql", "rest")


def check_api(settings: dict) -> None:
    """``--api``: only the two APIs the GitHub and GitLab connectors speak."""
    if settings.get("api") not in API_CHOICES:
        raise ConnectSettingsError(f"--api must be one of {', '.join(API_CHOICES)}, not "
                                   f"{settings.get('api')!r}.")


def connect_time_client(base_url: str, auth, source: str, org_slug: str):
    """An HTTP client for the few requests `sieve connect` makes before anything is stored:
    one retry and five seconds at most, so a wrong address fails while the person waits."""
    from resources.http import ErrorContext, HttpClient, RetryPolicy  # loads requests

    return HttpClient(base_url, auth, source=source,
                      context=ErrorContext(org_slug, "new-connection"),
                      retry=RetryPolicy(max_retries=1, max_total_wait=5.0))


def connect_time_listing(base_url: str, auth, source: str, org_slug: str, path: str,
                         params: dict, style, *, when_empty: str) -> list:
    """Every item of a listing, every page of it, read as `sieve connect` reads (above);
    an empty listing raises ``when_empty``, which says what access the credentials lack."""
    with connect_time_client(base_url, auth, source, org_slug) as client:
        items = [item for page in client.paginate(path, params, style=style)
                 for item in page.items]
    if not items:
        raise ConnectSettingsError(when_empty)
    return items
