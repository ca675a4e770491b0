"""Connecting GitHub as a GitHub App, and finding what a token or an app can see.

Both run at ``sieve connect`` time only. The HTTP modules are imported inside the functions
so that the registry (which imports settings.py, which imports this) stays fast to load.
"""

from __future__ import annotations

from pathlib import Path

from resources.security.vault import Secret
from resources.sources.connect import ConnectSettingsError, connect_time_client


def prepare_app_connection(settings: dict, _secrets: dict[str, Secret]) -> dict[str, Secret]:
    """Read and check the app's private key, find the installation on the owner when no
    ``--installation-id`` was given, and return the key to seal (the file is not kept)."""
    from resources.http.github_app import checked_private_key
    from resources.sources.credentials import github_app_client

    path = Path(settings.pop("private_key_file") or "").expanduser()
    if not settings.get("app_id", "").isdigit():
        raise ConnectSettingsError("--app-id: give the app's numeric App ID (the app's "
                                   "settings page, About → App ID).")
    if not path.is_file():
        raise ConnectSettingsError(f"--private-key-file {path}: no such file. Pass the .pem file "
                                   "generated in the app's settings (Private keys).")
    private_key = Secret(checked_private_key(path.read_text(encoding="utf-8", errors="replace")))
    credentials = {"private_key": private_key}
    if not settings.get("installation_id"):
        if not settings.get("owner"):
            raise ConnectSettingsError("Pass --owner (where the app is installed) or "
                                       "--installation-id.")
        settings["installation_id"] = str(
            github_app_client(settings, credentials).installation_for(settings["owner"]))
    return credentials


def visible_owners(settings: dict, credentials: dict[str, Secret],
                   org_slug: str) -> list[tuple[str, str]]:
    """The organizations and the user account a token can read, or the accounts an app is
    installed on, as (login, description) — for choosing ``--owner``."""
    from resources.http import BearerToken, PaginationStyle

    base_url = settings.get("base_url") or "https://api.github.com"
    if settings.get("auth") == "github_app":
        from resources.sources.credentials import github_app_client

        client = github_app_client(settings, credentials)
        return [(login, f"app installation {installation_id}")
                for installation_id, login in client.installations()]
    with connect_time_client(base_url, BearerToken(credentials["token"].reveal()),
                             "github", org_slug) as client:
        user = client.get_json("/user").data
        orgs = [item for page in client.paginate("/user/orgs", {"per_page": 100},
                                                 style=PaginationStyle.GITHUB)
                for item in page.items]
    return ([(org["login"], "organization") for org in orgs]
            + [(user["login"], "your user account")])
