"""What a first sync of a GitHub connection will cost, from counts alone: GraphQL
``totalCount``s of each repository's pull requests and issues (one point per twenty
repositories) and the token's current limits, without fetching any pull request."""

from __future__ import annotations

import math
from dataclasses import dataclass

from resources.sources.github import graphql

# Repositories counted per query (aliases): small enough to stay one point.
REPOSITORIES_PER_QUERY = 20
# Per repository beside pull requests: the probe and the first pages of commits, tags,
# deployments, releases, workflows and a deploy workflow's runs.
REST_LISTINGS_PER_REPOSITORY = 7
# REST per pull request: detail, reviews and commits (and files in monorepos).
REST_REQUESTS_PER_PULL_REQUEST = 3


@dataclass(frozen=True)
class RepositoryCounts:
    full_name: str
    pull_requests: int
    issues: int
    deployments: int
    with_files: bool


@dataclass(frozen=True)
class Estimate:
    api: str
    repositories: int
    pull_requests: int
    issues: int
    points: int
    requests: int
    points_per_hour: int
    requests_per_hour: int

    @property
    def hours(self) -> float:
        """Hours under the token's limits (both budgets refill hourly and are spent at once)."""
        return max(self.points / max(1, self.points_per_hour),
                   self.requests / max(1, self.requests_per_hour))


def counts_document(repositories: list[tuple[str, str]]) -> str:
    """One query counting the pull requests, issues and deployments of up to twenty
    repositories."""
    aliases = " ".join(
        f"r{i}: repository(owner: {_quoted(owner)}, name: {_quoted(name)}) "
        "{ pullRequests { totalCount } issues { totalCount } deployments { totalCount } }"
        for i, (owner, name) in enumerate(repositories))
    return f"query RepositoryCounts {{ rateLimit {{ cost limit remaining resetAt }} {aliases} }}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_points(with_files: bool) -> int:
    """GitHub's cost of one page of pull requests, at most: the page's own connections and
    the deferred ones (labels, assignees, review requests) of pull requests that have them,
    counted here as if every one had all three."""
    return _points(len(graphql.nested_connections(with_files)))


def issue_page_points() -> int:
    """GitHub's cost of one page of issues (with their labels and assignees)."""
    return _points(len(graphql.ISSUE_NESTED_PAGE_SIZE))


def _points(nested_connections: int) -> int:
    """One request for the page and one per nested connection of each of its items, divided
    by 100 and rounded (GitHub's formula)."""
    requests = 1 + graphql.PAGE_SIZE * nested_connections
    return max(1, math.floor(requests / 100 + 0.5))


def estimate(api: str, counts: list[RepositoryCounts], listing_requests: int,
             points_per_hour: int, requests_per_hour: int) -> Estimate:
    """The first sync's points and REST requests (listing pages are ``per_page=100``), not
    counting one /users request per person seen."""
    points, requests = 0, listing_requests
    for repo in counts:
        # People seen (/users) are not counted.
        requests += REST_LISTINGS_PER_REPOSITORY + math.ceil(repo.deployments / 100)
        if api == "graphql":
            requests += 1  # the issues listing's probe
            # The default branch's commits through GraphQL: a point a hundred (their number
            # is not counted: the first page only).
            requests, points = requests - 1, points + 1
            points += math.ceil(repo.pull_requests / graphql.PAGE_SIZE) * page_points(
                repo.with_files)
            points += math.ceil(repo.issues / graphql.PAGE_SIZE) * issue_page_points()
            # The deployments' statuses: a hundred deployments a query, 1 point.
            points += math.ceil(repo.deployments / graphql.PAGE_SIZE)
        else:
            requests += repo.deployments  # each deployment's statuses
            # The issues listing also lists the pull requests.
            requests += math.ceil((repo.pull_requests + repo.issues) / 100)
            per_pull = REST_REQUESTS_PER_PULL_REQUEST + (1 if repo.with_files else 0)
            requests += math.ceil(repo.pull_requests / 100) + per_pull * repo.pull_requests
    return Estimate(api, len(counts), sum(r.pull_requests for r in counts),
                    sum(r.issues for r in counts), points, requests, points_per_hour,
                    requests_per_hour)
