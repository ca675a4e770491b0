"""What `sieve connect ORG <source>` asks for, declared by each source as plain data.

A source's ``settings.py`` lists its options (stored in the connection's settings) and its
secrets (read from a named environment variable or a hidden prompt, never from argv, and sealed
by the vault). The CLI builds one subcommand per registered source from these declarations, so
adding a source needs no CLI code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from resources.errors import SieveError

OptionKind = Literal["text", "list", "url", "directory"]


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
class ConnectSpec:
    summary: str
    examples: tuple[str, ...]
    options: tuple[ConnectOption, ...] = ()
    secrets: tuple[ConnectSecret, ...] = ()
    # Checks the assembled settings (e.g. that a path is a git clone); raises SieveError.
    validate: Callable[[dict], None] | None = field(default=None)

    def settings(self, values: dict[str, str | None]) -> dict:
        """The connection's settings from the options' raw values, keyed by setting name."""
        settings: dict = {}
        for option in self.options:
            settings[option.key] = normalised(option, values.get(option.key))
        if self.validate is not None:
            self.validate(settings)
        return settings


def normalised(option: ConnectOption, value: str | None):
    if option.kind == "list":
        return [v.strip() for v in (value or "").split(",") if v.strip()]
    if value is None:
        return None
    if option.kind == "url":
        from resources.http.urls import validate_base_url  # the HTTP layer loads requests

        return validate_base_url(value)
    return value
