"""Connecting GitHub as a GitHub App, and finding what a token or an app can see.

Both run at ``sieve connect`` time only. The HTTP modules are imported inside the functions
so that the registry (which imports settings.py, which imports this) stays fast to load.
"""

from __future__ import annotations

from pathlib import Path

from resources.security.vault import Secret
from resources.sources.connect import ConnectSettingsError, connect_time_client


def prepare_app_connection(settings: dict, _secrets: dict[str, Secret],
                           _org_slug: str) -> dict[str, Secret]:
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
    installed on, as (login, description) — for choosing ``--owner``.

    ``/user/orgs`` lists the organizations the user belongs to; ``/user/repos`` adds the owners
    of repositories the user owns or collaborates on, and stands in for ``/user/orgs`` when a
    classic token lacks ``read:org`` (GitHub answers 403 there)."""
    from resources.http import BearerToken, PaginationStyle, PermissionDeniedError

    base_url = settings.get("base_url") or "https://api.github.com"
    if settings.get("auth") == "github_app":
        from resources.sources.credentials import github_app_client

        client = github_app_client(settings, credentials)
        return [(login, f"app installation {installation_id}")
                for installation_id, login in client.installations()]
    every_page = {"per_page": 100}
    affiliation = "owner,collaborator"
    with connect_time_client(base_url, BearerToken(credentials["token"].reveal()),
                             "github", org_slug) as client:
        user = client.get_json("/user").data["login"]
        try:
            orgs = [org["login"] for page in client.paginate("/user/orgs", every_page,
                                                             style=PaginationStyle.GITHUB)
                    for org in page.items]
        except PermissionDeniedError:
            orgs, affiliation = [], "owner,collaborator,organization_member"
        repos = [repo for page in client.paginate(
            "/user/repos", {**every_page, "affiliation": affiliation, "sort": "full_name"},
            style=PaginationStyle.GITHUB) for repo in page.items]
    return ([(org, "organization") for org in orgs]
            + repository_owners(repos, known={*orgs, user})
            + [(user, "your user account")])


def repository_owners(repos: list[dict], known: set[str]) -> list[tuple[str, str]]:
    """The owners of ``repos`` not in ``known``, with how many of their repositories show."""
    counts: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for repo in repos:
        owner = repo["owner"]
        if owner["login"] not in known:
            counts[owner["login"]] = counts.get(owner["login"], 0) + 1
            kinds[owner["login"]] = "organization" if owner.get("type") == "Organization" \
                else "user account"
    return [(login, f"{kinds[login]}, {count} "
                     f"{'repository' if count == 1 else 'repositories'} you can read")
            for login, count in counts.items()]
