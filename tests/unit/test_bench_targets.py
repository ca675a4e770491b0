"""The benchmark's targets table: figures measured by separate benches are marked too."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import github_api_targets


def test_the_github_api_figures_are_checked_against_issue_13_and_labelled():
    graphql = {"api": "graphql", "repositories": 5, "pull_requests": 5000,
               "requests_per_pull_request": 0.0566, "points_per_pull_request": 0.05,
               "bytes_per_pull_request": 15385, "nightly_requests_counted": 0,
               "nightly_points": 0}
    result = {"runs": [{**graphql, "api": "rest", "requests_per_pull_request": 3.4}, graphql]}

    checks = github_api_targets([(Path("side-by-side.json"), result)])

    assert [met for _, _, met in checks] == [False, True, False, True]
    assert all("5 repos / 5,000 PRs, side-by-side.json" in name for name, _, _ in checks)
    assert [value for _, value, _ in checks][:3] == ["0.0566", "0.05", "15.4 KB"]
    assert github_api_targets([]) == []


def test_a_run_of_100000_pull_requests_is_also_checked_for_hours_and_memory():
    run = {"api": "graphql", "repositories": 100, "pull_requests": 100_000,
           "requests_per_pull_request": 0.0436, "points_per_pull_request": 0.0493,
           "bytes_per_pull_request": 4899, "nightly_requests_counted": 0, "nightly_points": 0,
           "projected_hours_for_100k_pull_requests": 0.99, "peak_rss_mb": 312.0}

    checks = github_api_targets([(Path("big.json"), {"runs": [run]})])

    assert [(value, met) for _, value, met in checks[-2:]] == [("0.99 h", True),
                                                               ("312.0 MB", False)]
    assert all("100 repos / 100,000 PRs, big.json" in name for name, _, _ in checks)
