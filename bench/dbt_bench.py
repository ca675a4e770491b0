"""dbt benchmark: a synthetic organization of N pull requests written straight into the
metadata tables of a fresh installation, then full production `dbt build`s timed.

Proportions per pull request: 3 branch commits, 1.5 reviews, 1 merge commit, 0.1 production
deployments (1 in 20 of them failed, which never count), 0.5 Jira issues with 3 status changes
each, 1.5 Slack messages. One person per 500 PRs (at least 20, ten teams, one bot), one
repository per 5,000 PRs (at least 5). Values are derived from the row number with `hash`, so
a given N always yields the same organization.

    python bench/dbt_bench.py 100000 1000000     # prints one JSON line per size
    python bench/dbt_bench.py --parse 1000       # dbt's own command vs sieve-dbt, side by side
    python bench/dbt_bench.py --server 1000      # builds alone vs forked from a build server
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from resources.marts import runner
from resources.marts.runner import build_org_marts
from resources.runtime import open_sieve
from resources.security.audit import create_audit_key_file
from resources.security.keys import create_key_file
from resources.storage.metadata_store import connect_encrypted, org_database_path
from resources.sync.engine import ensure_metadata_tables

# Two years of history ending here; the reporting window ends at AS_OF too.
HISTORY_END = "2026-03-01 00:00:00"
HISTORY_DAYS = 730


def _scaled(n_prs: int) -> dict[str, int]:
    return {
        "prs": n_prs,
        "people": max(20, n_prs // 500),
        "repos": max(5, n_prs // 5000),
        "issues": n_prs // 2,
        "messages": n_prs,
    }


def synthetic_org_sql(n_prs: int) -> list[str]:
    """INSERT statements filling schema `metadata` of the attached org database."""
    s = _scaled(n_prs)
    prs, people, repos, issues = s["prs"], s["people"], s["repos"], s["issues"]
    # Seconds of history per PR, so creation times spread evenly over HISTORY_DAYS.
    step = HISTORY_DAYS * 86400 / prs
    start = f"(TIMESTAMP '{HISTORY_END}' - INTERVAL {HISTORY_DAYS} DAY)"
    pr_times = f"""
        select
            i,
            1 + i % {repos} as repo,
            -- person 1 is the bot
            cast(1 + hash(i * 31 + 7) % {people} as BIGINT) as author,
            {start} + to_seconds(cast(i * {step} as BIGINT)) as created_at,
            cast(hash(i * 17 + 3) % 100 as BIGINT) as fate,
            cast(1 + hash(i * 13 + 5) % 72 as BIGINT) as hours_open
        from range(1, {prs} + 1) as t(i)
    """
    return [
        f"""insert into metadata.people
            select 'p' || p, 'Person ' || p, 'person' || p || '@bench.test',
                   case when p = 1 then null else 'team-' || (p % 10) end, p = 1, 1, ['github']
            from range(1, {people} + 1) as t(p)""",
        f"""insert into metadata.identity_accounts
            select 'github', cast(p as VARCHAR), 'p' || p,
                   case when p = 1 then 'dependabot[bot]' else 'user' || p end,
                   null, null, p = 1
            from range(1, {people} + 1) as t(p)
            union all
            select 'jira', 'j' || p, 'p' || p, null, null, null, p = 1
            from range(1, {people} + 1) as t(p)
            union all
            select 'slack', 'U' || p, 'p' || p, null, null, null, p = 1
            from range(1, {people} + 1) as t(p)""",
        f"""insert into metadata.github_repositories (connection_id, id, name, full_name)
            select 'bench', r, 'repo-' || r, 'bench/repo-' || r from range(1, {repos} + 1) t(r)""",
        f"""insert into metadata.github_pull_requests (connection_id, id, repository_id, number,
                title, state, author_id, author_login, author_type, labels, head_ref, head_sha,
                base_ref, merge_commit_sha, is_merged, additions, deletions, changed_files,
                created_at, closed_at, merged_at)
            select 'bench', i, repo, i,
                case when i % 50 = 0 and i > {repos} then 'Revert "PR ' || (i - {repos}) || '"'
                     else 'PR ' || i end,
                case when fate < 85 or fate >= 95 then 'closed' else 'open' end,
                author, case when author = 1 then 'dependabot[bot]' else 'user' || author end,
                case when author = 1 then 'Bot' else 'User' end,
                case when i % 97 = 0 then ['hotfix'] else [] end,
                'branch-' || i, 'h' || i, 'main', 'm' || i, fate < 85,
                hash(i) % 400, hash(i + 1) % 200, 1 + hash(i + 2) % 30,
                created_at,
                case when fate < 85 or fate >= 95 then created_at + to_hours(hours_open) end,
                case when fate < 85 then created_at + to_hours(hours_open) end
            from ({pr_times})""",
        f"""insert into metadata.github_pull_request_commits (connection_id, repository_id,
                pull_number, sha, parent_shas, author_email, authored_at, committed_at,
                author_id)
            select 'bench', repo, i, 'c' || i || '_' || k, [], 'person' || author || '@bench.test',
                created_at - to_hours(k + 1), created_at - to_hours(k + 1), author
            from ({pr_times}), range(3) as k(k)""",
        f"""insert into metadata.github_pull_request_reviews (connection_id, id, repository_id,
                pull_number, reviewer_id, reviewer_login, state, submitted_at)
            select 'bench', i * 2 + k, repo, i, 1 + (author + k) % {people},
                'user' || (1 + (author + k) % {people}),
                case when k = 0 then 'COMMENTED' else 'APPROVED' end,
                created_at + to_minutes(30 + 60 * k)
            from ({pr_times}), range(2) as k(k)
            where k = 0 or i % 2 = 0""",
        f"""insert into metadata.github_commits (connection_id, repository_id, sha, parent_shas,
                author_email, authored_at, committed_at, author_id)
            select 'bench', repo, 'm' || i, [], 'person' || author || '@bench.test',
                created_at + to_hours(hours_open), created_at + to_hours(hours_open), author
            from ({pr_times}) where fate < 85""",
        f"""insert into metadata.github_deployments (connection_id, id, repository_id, sha, ref,
                environment, is_production_environment, created_at, updated_at)
            select 'bench', i, repo, 'm' || i, 'main', 'production', true,
                created_at + to_hours(hours_open + 1), created_at + to_hours(hours_open + 1)
            from ({pr_times}) where i % 10 = 0""",
        f"""insert into metadata.github_deployment_statuses (connection_id, id, node_id,
                repository_id, deployment_id, state, environment, created_at, updated_at)
            select 'bench', i, 'DES_' || i, repo, i, case when i % 200 = 0 then 'failure' else 'success' end,
                'production', created_at + to_hours(hours_open + 2),
                created_at + to_hours(hours_open + 2)
            from ({pr_times}) where i % 10 = 0""",
        f"""insert into metadata.jira_issues (connection_id, id, key, project_key, issue_type,
                is_subtask, status, status_id, status_category, labels, parent_key, story_points,
                sprint_ids, assignee_account_id, created_at, updated_at, resolved_at)
            select 'bench', cast(j as VARCHAR), 'B-' || j, 'B',
                case when j % 200 = 0 then 'Incident' when j % 5 = 0 then 'Bug' else 'Story' end,
                false,
                case when j % 10 = 0 then 'In Progress' else 'Done' end,
                case when j % 10 = 0 then '3' else '4' end,
                case when j % 10 = 0 then 'indeterminate' else 'done' end,
                [], 'B-E' || (j % 40), 1 + j % 8, [1 + (j * {HISTORY_DAYS} // {issues}) // 14],
                'j' || (1 + hash(j) % {people}), created, created,
                case when j % 10 != 0 then created + INTERVAL 5 DAY end
            from (select j, {start} + to_seconds(cast(j * {2 * step} as BIGINT)) as created
                  from range(1, {issues} + 1) t(j))""",
        f"""insert into metadata.jira_issue_status_changes (connection_id, history_id, issue_id,
                issue_key, author_account_id, changed_at, from_status_id, from_status,
                to_status_id, to_status)
            select 'bench', j || '-' || k, cast(j as VARCHAR), 'B-' || j, 'j1',
                created + to_hours(1 + 40 * k),
                ['1', '2', '3'][k + 1], ['To Do', 'In Progress', 'In Review'][k + 1],
                ['2', '3', '4'][k + 1], ['In Progress', 'In Review', 'Done'][k + 1]
            from (select j, {start} + to_seconds(cast(j * {2 * step} as BIGINT)) as created
                  from range(1, {issues} + 1) t(j)), range(3) as k(k)
            where j % 10 != 0 or k = 0""",
        f"""insert into metadata.jira_sprints (connection_id, id, name, state, origin_board_id,
                start_at, end_at, completed_at)
            select 'bench', s + 1, 'Sprint ' || (s + 1), 'closed', 1,
                {start} + to_days(14 * s), {start} + to_days(14 * s + 14),
                {start} + to_days(14 * s + 14)
            from range({HISTORY_DAYS} // 14 + 1) t(s)""",
        """insert into metadata.slack_channels (connection_id, id, name)
            select 'bench', 'C' || c, 'channel-' || c from range(20) t(c)""",
        f"""insert into metadata.slack_messages (connection_id, channel_id, ts, posted_at,
                thread_ts, user_id, reply_count)
            select 'bench', 'C' || (m % 20), 'm' || m, posted, 'm' || m,
                'U' || (1 + hash(m) % {people}), case when m % 2 = 0 then 1 else 0 end
            from (select m, {start} + to_seconds(cast(m * {step} as BIGINT)) as posted
                  from range(1, {s['messages']} + 1) t(m))
            union all
            select 'bench', 'C' || (m % 20), 'r' || m, posted + INTERVAL 20 MINUTE, 'm' || m,
                'U' || (1 + hash(m + 1) % {people}), 0
            from (select m, {start} + to_seconds(cast(m * {step} as BIGINT)) as posted
                  from range(1, {s['messages']} + 1) t(m))
            where m % 2 = 0""",
    ]


def fresh_installation(home: Path):
    """A new installation (keys, control plane) in ``home``, ignoring the caller's Sieve
    environment so a benchmark never touches a real one."""
    environ = {**os.environ, "SIEVE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    for name in ("SIEVE_CONTROL_PLANE_URL", "SIEVE_MASTER_KEY", "SIEVE_KEY_FILE",
                 "SIEVE_AUDIT_KEY", "SIEVE_AUDIT_KEY_FILE"):
        environ.pop(name, None)
    sieve = open_sieve(environ)
    create_key_file(sieve.settings.key_file)
    create_audit_key_file(sieve.settings.audit_key_file)
    return sieve


def bench_dbt_build(n_prs: int, sieve_home: Path | None = None) -> dict:
    """Generate an N-PR organization in a fresh installation and time a full production dbt
    build of its marts: the first one (dbt parses the project from scratch) and a second one
    (partial parsing, as in the nightly runs). Returns sizes and seconds."""
    home = Path(sieve_home or tempfile.mkdtemp(prefix="sieve-dbt-bench-"))
    sieve = fresh_installation(home)
    try:
        org = sieve.control_plane.add_organization(f"bench-{n_prs}")
        ensure_metadata_tables(sieve, org.id)
        started = time.monotonic()
        connection = connect_encrypted(org_database_path(sieve.settings.orgs_dir, org.id),
                                       sieve.control_plane.org_data_key(org))
        try:
            for statement in synthetic_org_sql(n_prs):
                connection.execute(statement)
            counts = dict(connection.execute(
                "select table_name, estimated_size from duckdb_tables() "
                "where database_name = 'org' and schema_name = 'metadata'").fetchall())
        finally:
            connection.close()
        generated = time.monotonic()
        build_org_marts(sieve, org.id, as_of=_as_of())
        built = time.monotonic()
        # The nightly steady state: the project's parse is reused (sieve-dbt).
        build_org_marts(sieve, org.id, as_of=_as_of())
        rebuilt = time.monotonic()
    finally:
        sieve.close()
    return {
        "benchmark": "dbt_build",
        "pull_requests": n_prs,
        "metadata_rows": sum(counts.values()),
        "generate_seconds": round(generated - started, 2),
        "build_seconds": round(built - generated, 2),
        "rebuild_seconds": round(rebuilt - built, 2),
    }


def synthetic_org(sieve, slug: str, n_prs: int):
    """A new organization ``slug`` of ``sieve`` holding the N-PR synthetic organization."""
    org = sieve.control_plane.add_organization(slug)
    ensure_metadata_tables(sieve, org.id)
    connection = connect_encrypted(org_database_path(sieve.settings.orgs_dir, org.id),
                                   sieve.control_plane.org_data_key(org))
    try:
        for statement in synthetic_org_sql(n_prs):
            connection.execute(statement)
    finally:
        connection.close()
    return org


def bench_parse_reuse(n_prs: int = 1000, rounds: int = 3) -> dict:
    """Builds of one small organization with dbt's own command (which parses the whole project
    again, since every build's --vars differ) and with ``sieve-dbt`` (which reuses the
    project's parse, resources/marts/dbt_command.py), alternated in one run so machine load
    hits both alike. Returns the seconds of each build, by command."""
    home = Path(tempfile.mkdtemp(prefix="sieve-dbt-parse-bench-"))
    sieve = fresh_installation(home)
    commands = {"dbt": str(Path(sys.executable).with_name("dbt")),
                "sieve-dbt": runner.dbt_executable()}
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    try:
        org = synthetic_org(sieve, f"parse-{n_prs}", n_prs)
        for _ in range(rounds):
            for name, command in commands.items():
                with mock.patch.object(runner, "dbt_executable", return_value=command):
                    started = time.monotonic()
                    build_org_marts(sieve, org.id, as_of=_as_of())
                    seconds[name].append(round(time.monotonic() - started, 2))
    finally:
        sieve.close()
    return {"benchmark": "dbt_parse_reuse", "pull_requests": n_prs, "build_seconds": seconds,
            "median_seconds": {name: sorted(values)[len(values) // 2]
                               for name, values in seconds.items()}}


def bench_build_server(n_prs: int = 1000, rounds: int = 3) -> dict:
    """Builds of one small organization by a ``sieve-dbt`` of their own and handed to a build
    server (resources/marts/warm_dbt.py, `dbt_build_server`), alternated in one run. Wall
    seconds per build; CPU seconds for all builds of each way, the server's start (loading
    dbt, one parse) included."""
    from resources.marts.dbt_command import DBT_PROJECT_DIR
    from resources.marts.warm_dbt import BUILD_SERVER_VARIABLE, dbt_build_server

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    home = Path(tempfile.mkdtemp(prefix="sieve-dbt-server-bench-"))
    sieve = fresh_installation(home)
    seconds: dict[str, list[float]] = {"own_process": [], "build_server": []}
    own_cpu = 0.0
    try:
        org = synthetic_org(sieve, f"server-{n_prs}", n_prs)
        cpu_before = children_cpu()
        with dbt_build_server(DBT_PROJECT_DIR) as socket_path:
            for _ in range(rounds):
                for way in seconds:
                    environment = {BUILD_SERVER_VARIABLE: str(socket_path) if way == "build_server"
                                   else "", "SIEVE_DBT_AHEAD": "0"}
                    with mock.patch.dict(os.environ, environment):
                        cpu, started = children_cpu(), time.monotonic()
                        build_org_marts(sieve, org.id, as_of=_as_of())
                        seconds[way].append(round(time.monotonic() - started, 2))
                        if way == "own_process":
                            own_cpu += children_cpu() - cpu
        server_cpu = children_cpu() - cpu_before - own_cpu  # the server is waited for at the end
    finally:
        sieve.close()
    return {"benchmark": "dbt_build_server", "pull_requests": n_prs, "builds_each": rounds,
            "build_seconds": seconds,
            "median_seconds": {way: sorted(values)[len(values) // 2]
                               for way, values in seconds.items()},
            "cpu_seconds_all_builds": {"own_process": round(own_cpu, 1),
                                       "build_server": round(server_cpu, 1)}}


def _as_of():
    from datetime import datetime

    return datetime.fromisoformat(HISTORY_END)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--parse"]:
        print(json.dumps(bench_parse_reuse(*[int(arg) for arg in argv[1:2]])), flush=True)
        return
    if argv[:1] == ["--server"]:
        print(json.dumps(bench_build_server(*[int(arg) for arg in argv[1:2]])), flush=True)
        return
    for size in [int(arg) for arg in argv] or [100_000]:
        print(json.dumps(bench_dbt_build(size)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
