"""Finding the Jira projects an account can browse, for choosing ``--projects`` at
``sieve connect``.

Runs at connect time only; the HTTP modules are imported inside the function so that the
registry (which imports settings.py, which imports this) stays fast to load.
"""

from __future__ import annotations

from resources.security.vault import Secret
from resources.sources.connect import connect_time_listing


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
