"""Finding the GitLab groups a token can read, for choosing ``--group`` at ``sieve connect``.

Runs at connect time only; the HTTP modules are imported inside the function so that the
registry (which imports settings.py, which imports this) stays fast to load.
"""

from __future__ import annotations

from resources.security.vault import Secret
from resources.sources.connect import connect_time_listing

# GitLab's Reporter role: the least that reads a private project's code and merge requests
# (Guests see neither; docs.gitlab.com/ee/user/permissions.html).
REPORTER = 20


def visible_groups(settings: dict, credentials: dict[str, Secret],
                   org_slug: str) -> list[tuple[str, str]]:
    """The groups where the credentials' user is at least a Reporter, as (full path, name),
    through every page of ``GET /groups`` (docs.gitlab.com/ee/api/groups.html#list-groups)."""
    from resources.http import PaginationStyle
    from resources.sources.credentials import connect_time_auth
    from resources.sources.gitlab.connector import (
        DEFAULT_BASE_URL,
        PAGE_SIZE,
        api_root,
        token_auth,
    )

    base_url = settings.get("base_url") or DEFAULT_BASE_URL
    params = {"min_access_level": REPORTER, "order_by": "path", "sort": "asc",
              "per_page": PAGE_SIZE}
    groups = connect_time_listing(
        api_root(base_url), connect_time_auth(settings, credentials, token_auth), "gitlab",
        org_slug, "/groups", params, PaginationStyle.GITLAB,
        when_empty=f"These credentials see no group on {base_url} where their user has at "
                   "least the Reporter role, which reading merge requests and commits needs. "
                   "Add the user to the group (Manage → Members) as Reporter, then run the "
                   "command again.")
    return [(group["full_path"], group.get("full_name") or group["name"]) for group in groups]
