"""The demo organization's hot spots, read from the emulator's model (no sync): each is what
one insight kind needs at its default settings (docs/metrics.md, "insights"), so the demo-scale
org raises every kind (measured end to end by bench/demo_insights.py)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from emulators.org import Org

DEFAULTS = {"large_pr_lines": 1000, "wip_limit_per_person": 4, "bus_factor_min_commits": 10,
            "knowledge_window_days": 90, "review_window_days": 28,
            "review_concentration_percent": 60, "review_concentration_min_reviews": 10}


def organization(scale: str):
    org = Org(scale, seed=7)
    prs = [pr for repo in org.repos for n in range(1, org.item_count(repo) + 1)
           if (pr := org.pull_request(repo, n)) is not None]
    return org, prs


@pytest.fixture(scope="module")
def demo():
    return organization("demo")


def is_open(pr, at) -> bool:
    return pr.created_at <= at and (pr.closed_at is None or pr.closed_at > at)


@pytest.mark.parametrize("scale", ["tiny", "demo"])
def test_an_open_pr_is_too_large(scale):
    org, prs = organization(scale)
    sizes = [pr.additions + pr.deletions for pr in prs if is_open(pr, org.anchor_at)]
    assert max(sizes) > DEFAULTS["large_pr_lines"]


def test_the_single_maintainer_repository_has_bus_factor_one_and_too_much_work(demo):
    org, prs = demo
    repo = org.repos[-1]
    since = org.anchor_at - timedelta(days=DEFAULTS["knowledge_window_days"])
    authors = Counter(commit.author.login for pr in prs if pr.repo is repo
                      for commit in pr.landed if commit.author and commit.committed_at > since)
    top, count = authors.most_common(1)[0]
    assert sum(authors.values()) >= DEFAULTS["bus_factor_min_commits"]
    assert count / sum(authors.values()) > 0.5
    open_by_top = [pr for pr in prs if pr.author.login == top and is_open(pr, org.anchor_at)]
    assert len(open_by_top) > DEFAULTS["wip_limit_per_person"]


def test_one_person_gives_most_reviews_of_the_first_teams_prs(demo):
    org, prs = demo
    team = org.teams[0]
    since = org.anchor_at - timedelta(days=DEFAULTS["review_window_days"])
    reviewers = Counter(review.author.login for pr in prs if pr.author.login in team.members
                        for review in pr.reviews if since < review.submitted_at <= org.anchor_at)
    total = sum(reviewers.values())
    assert total >= DEFAULTS["review_concentration_min_reviews"]
    assert reviewers.most_common(1)[0][1] * 100 / total > DEFAULTS["review_concentration_percent"]


def test_the_prs_merged_in_the_last_whole_week_were_coded_a_week_longer(demo):
    org, prs = demo
    monday = (org.anchor_at - timedelta(days=org.anchor_at.weekday())).replace(hour=0, minute=0)
    merged_last_week = [pr for pr in prs
                        if pr.merged_at and monday - timedelta(weeks=1) <= pr.merged_at < monday]
    assert merged_last_week
    assert all(pr.created_at - pr.commits[0].authored_at >= timedelta(weeks=1)
               for pr in merged_last_week)


def test_the_first_projects_running_sprint_holds_more_than_a_sprint_of_work(demo):
    org, _ = demo
    project = org.jira_projects[0]
    running = next(s for s in org.sprints(project.board_id) if s.start <= org.anchor_at < s.end)
    issues = [issue for n in range(1, org.jira_issue_count(project) + 1)
              if (issue := org.jira_issue(project, n)) is not None]
    left = [i for i in issues if running in i.sprints and i.status != "Done"]
    done_last_sprint = [i for i in issues if i.resolution_date is not None
                        and running.start - timedelta(days=14) <= i.resolution_date < running.start]
    assert len(left) > len(done_last_sprint)
