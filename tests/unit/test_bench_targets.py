"""The benchmark's targets table: figures measured by separate benches are marked too."""

from __future__ import annotations

from bench.__main__ import github_api_targets


def test_the_github_api_figures_are_checked_against_issue_13_and_labelled():
    graphql = {"api": "graphql", "repositories": 5, "pull_requests": 5000,
               "requests_per_pull_request": 0.0566, "points_per_pull_request": 0.05,
               "bytes_per_pull_request": 15385, "nightly_requests_counted": 0,
               "nightly_points": 0}
    result = {"runs": [{**graphql, "api": "rest", "requests_per_pull_request": 3.4}, graphql]}

    checks = github_api_targets(result)

    assert [met for _, _, met in checks] == [False, True, False, True]
    assert all("5 repos / 5,000 PRs" in name for name, _, _ in checks)
    assert [value for _, value, _ in checks][:3] == ["0.0566", "0.05", "15.4 KB"]
    assert github_api_targets(None) == []
