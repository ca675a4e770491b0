"""Monorepo services: changed files are reduced to counts per service in memory."""

from __future__ import annotations

from collections import Counter

import yaml

from pipelines.cli.demo import demo_settings
from resources.storage.org_config import config_path, load_org_config, service_of


def test_pull_requests_of_a_monorepo_are_attributed_to_services(sieve_org, emulator):
    org = sieve_org("acme")
    path = config_path(org.sieve.settings.home, "acme")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(demo_settings(emulator)))
    rules = load_org_config(org.sieve.settings.home, "acme").services
    org.connect_emulator(emulator, "github", owner=emulator.org.login, repos=[])
    org.sync("github")

    monorepo = next(r for r in emulator.org.repos if r.is_monorepo)
    stored = {(number, service): (files, additions, deletions)
              for number, service, files, additions, deletions in org.query(
                  "SELECT pull_number, service, files_changed, additions, deletions "
                  "FROM metadata.github_pull_request_services")}
    expected = {}
    for number in range(1, monorepo.items + 1):
        pull = None if monorepo.is_issue_number(number) else emulator.org.pull_request(monorepo,
                                                                                       number)
        if pull is not None:
            counts: dict[str, list[int]] = {}
            for change in pull.files:
                service = service_of(change.filename, rules)
                if service:
                    entry = counts.setdefault(service, [0, 0, 0])
                    entry[0] += 1
                    entry[1] += change.additions
                    entry[2] += change.deletions
            expected.update({(number, s): tuple(v) for s, v in counts.items()})
    assert stored and stored == expected
    assert len(Counter(service for _, service in stored)) > 1
    other_repos = org.query("SELECT count(*) FROM metadata.github_pull_request_services s "
                            "JOIN metadata.github_repositories r ON r.id = s.repository_id "
                            "WHERE r.name <> ?", [monorepo.name])
    assert other_repos == [(0,)]
