"""Finding the Jira projects an account can browse, for choosing ``--projects`` at
``sieve connect``; and, for an OAuth connection, the site's cloud id.

Runs at connect time only; the HTTP modules are imported inside the function so that the
registry (which imports settings.py, which imports this) stays fast to load.
"""

from __future__ import annotations

from resources.security.vault import Secret
from resources.sources.connect import (
    ConnectSettingsError,
    connect_time_client,
    connect_time_listing,
)


def visible_projects(settings: dict, credentials: dict[str, Secret],
                     org_slug: str) -> list[tuple[str, str]]:
    """The projects the account may browse, as (key, name), through every page of
    ``GET /rest/api/3/project/search`` (startAt, maxResults, isLast)."""
    from resources.http import PaginationStyle
    from resources.sources.credentials import connect_time_auth
    from resources.sources.jira.connector import API, PROJECT_PAGE_SIZE, token_auth

    base_url = settings["base_url"]
    params = {"orderBy": "key", "maxResults": PROJECT_PAGE_SIZE}
    projects = connect_time_listing(
        base_url, connect_time_auth(settings, credentials, token_auth), "jira", org_slug,
        f"{API}/project/search", params, PaginationStyle.JIRA_AGILE,
        when_empty=f"The account can browse no Jira project on {base_url}. Grant it the Browse "
                   "Projects permission in the projects to read (Project settings → "
                   "Permissions), then run the command again.")
    return [(project["key"], project.get("name") or project["key"]) for project in projects]


ATLASSIAN_API_GATEWAY = "https://api.atlassian.com"
ACCESSIBLE_RESOURCES = "/oauth/token/accessible-resources"


def oauth_site(settings: dict, credentials: dict[str, Secret],
               org_slug: str) -> dict[str, Secret]:
    """Jira Cloud through OAuth 2.0 (3LO): find the site ``--base-url`` names among those the
    new access token reaches (``GET /oauth/token/accessible-resources``), then point the
    connection at the API gateway's path for it, ``/ex/jira/{cloudid}``, where 3LO tokens are
    accepted (the site's own address refuses them)."""
    from resources.http import BearerToken

    gateway = (settings.pop("api_gateway", None) or ATLASSIAN_API_GATEWAY).rstrip("/")
    site = settings["base_url"].rstrip("/")
    auth = BearerToken(credentials["access_token"].reveal())
    with connect_time_client(gateway, auth, "jira", org_slug) as client:
        listed = client.get_json(ACCESSIBLE_RESOURCES).data
    sites = {str(entry.get("url", "")).rstrip("/"): entry for entry in listed
             if isinstance(entry, dict)} if isinstance(listed, list) else {}
    if site not in sites:
        reached = ", ".join(sorted(sites)) or "no Jira site"
        raise ConnectSettingsError(
            f"The authorization does not reach the Jira site {site} (it reaches {reached}): "
            "nothing was stored. Run the command again and choose that site on Atlassian's "
            "consent screen, or pass the --base-url of a site it reaches.")
    cloud_id = str(sites[site]["id"])
    settings.update(site_url=site, cloud_id=cloud_id, base_url=f"{gateway}/ex/jira/{cloud_id}")
    return credentials
