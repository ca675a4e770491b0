"""The groups the emulated token's user (``sieve-reader``) belongs to, and ``GET /groups``.

Follows docs.gitlab.com/ee/api/groups.html#list-groups: an authenticated user who is not an
administrator gets the groups they are a member of (``all_available`` defaults to false; the
emulated groups are private, so it adds none); ``min_access_level`` keeps the groups where
their role is at least that level (docs.gitlab.com/ee/api/members.html#roles: 5 Minimal
Access, 10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner) and takes
precedence over ``all_available``; ``owned``, ``top_level_only``, ``search``, ``order_by``
(``name`` by default, ``path``, ``id``) and ``sort`` (``asc`` by default) filter and order;
pages are numbered (20 a page by default, at most 100), with GitLab's ``x-*`` headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulators.framework import ApiError, Request
from emulators.org import Org

WEB_ROOT = "https://gitlab.sieve-demo.example"
ROLES = (5, 10, 15, 20, 30, 40, 50)
OWNER = 50
ORDERS = {"name": lambda g: g.full_name.lower(), "path": lambda g: g.full_path,
          "id": lambda g: g.group_id}


@dataclass(frozen=True)
class Membership:
    """A group the reader belongs to, with the role (access level) it holds there."""

    group_id: int
    full_path: str
    full_name: str
    access_level: int
    parent_id: int | None = None

    @property
    def path(self) -> str:
        return self.full_path.rsplit("/", 1)[-1]

    @property
    def name(self) -> str:
        return self.full_name.rsplit(" / ", 1)[-1]


def reader_memberships(org: Org) -> tuple[Membership, ...]:
    """The group holding the org's projects (Reporter), a second group with none (Developer)
    and a subgroup where the reader is only a Guest, which cannot read merge requests."""
    infra = 9_000 + org.seed
    return (Membership(infra, org.gitlab_group, "Sieve Demo Infra", 20),
            Membership(9_100 + org.seed, "sieve-demo-web", "Sieve Demo Web", 30),
            Membership(9_200 + org.seed, f"{org.gitlab_group}/handbook",
                       "Sieve Demo Infra / Handbook", 10, parent_id=infra))


def listed_groups(request: Request, memberships: tuple[Membership, ...]) -> list[Membership]:
    """The memberships ``GET /groups`` answers with, filtered and ordered as asked."""
    query = request.query
    groups = list(memberships)
    if query.get("min_access_level"):
        minimum = query["min_access_level"]
        if not minimum.isdigit():
            raise ApiError(400, {"error": "min_access_level is invalid"})
        if int(minimum) not in ROLES:
            raise ApiError(400, {"error": "min_access_level does not have a valid value"})
        groups = [g for g in groups if g.access_level >= int(minimum)]
    if _true(query.get("owned")):
        groups = [g for g in groups if g.access_level == OWNER]
    if _true(query.get("top_level_only")):
        groups = [g for g in groups if g.parent_id is None]
    search = (query.get("search") or "").lower()
    if search:
        groups = [g for g in groups if search in g.full_name.lower() or search in g.full_path]
    order_by, sort = query.get("order_by", "name"), query.get("sort", "asc")
    if order_by not in ORDERS:
        raise ApiError(400, {"error": "order_by does not have a valid value"})
    if sort not in ("asc", "desc"):
        raise ApiError(400, {"error": "sort does not have a valid value"})
    return sorted(groups, key=ORDERS[order_by], reverse=sort == "desc")


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def group_json(group: Membership, created_at: str) -> dict:
    return {"id": group.group_id, "web_url": f"{WEB_ROOT}/groups/{group.full_path}",
            "name": group.name, "path": group.path, "description": "", "visibility": "private",
            "share_with_group_lock": False, "require_two_factor_authentication": False,
            "two_factor_grace_period": 48, "project_creation_level": "developer",
            "auto_devops_enabled": None, "subgroup_creation_level": "maintainer",
            "emails_disabled": False, "emails_enabled": True, "mentions_disabled": None,
            "lfs_enabled": True, "default_branch_protection": 2, "avatar_url": None,
            "request_access_enabled": True, "full_name": group.full_name,
            "full_path": group.full_path, "created_at": created_at,
            "parent_id": group.parent_id, "ldap_cn": None, "ldap_access": None,
            "marked_for_deletion_on": None}
