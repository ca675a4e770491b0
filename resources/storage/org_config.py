"""Per-organization configuration the user owns: one YAML file per org, with defaults.

``$SIEVE_HOME/config/<slug>.yaml`` (``sieve config init SLUG`` writes the documented defaults).
It says what counts as a production deployment, what counts as an incident, which accounts are
bots, who is on which team, which paths of a monorepo are which service, how identities are
merged or split, the reporting time zone, and how long data is kept. Malformed files are
reported with the file, the key and what was expected — never half-applied.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import yaml

from resources.errors import SieveError


class OrgConfigError(SieveError):
    pass


@dataclass(frozen=True)
class ServiceRule:
    """A service inside a repository: files under ``paths`` (glob prefixes) belong to it."""

    name: str
    repository: str
    paths: tuple[str, ...]


def rules_for_repository(rules: tuple[ServiceRule, ...],
                         full_name: str) -> tuple[ServiceRule, ...]:
    """The service rules of one repository, which a rule names as ``name`` or ``owner/name``."""
    return tuple(rule for rule in rules
                 if rule.repository in (full_name, full_name.split("/")[-1]))


def service_of(path: str, rules: tuple[ServiceRule, ...]) -> str | None:
    """The service a file path belongs to: the rule with the longest matching prefix."""
    best: tuple[int, str] | None = None
    for rule in rules:
        for prefix in rule.paths:
            if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rule.name)
    return best[1] if best else None


@dataclass(frozen=True)
class OrgConfig:
    # Production deployments: GitHub/GitLab deployment environments (regex, case-insensitive),
    # release/tag names, and CI workflow/pipeline names that deploy to production.
    production_environments: tuple[str, ...] = ("(?i)^prod(uction)?$", "(?i)^live$")
    production_tag_patterns: tuple[str, ...] = (r"^v?\d+\.\d+\.\d+$",)
    production_workflow_names: tuple[str, ...] = ("(?i)deploy.*prod", "(?i)^release$")
    # Incidents: Jira issue types and labels, PR labels and title prefixes.
    incident_issue_types: tuple[str, ...] = ("Incident",)
    incident_labels: tuple[str, ...] = ("incident", "outage", "sev1", "sev2")
    hotfix_labels: tuple[str, ...] = ("hotfix",)
    revert_title_pattern: str = r'^Revert "'
    # Incidents are attributed to the last production deployment before them, within this
    # many hours; older deployments are never blamed.
    incident_attribution_hours: int = 72
    # Where incidents come from, never both (docs/metrics.md): "auto" (the incident tools' when
    # one has reported any, else labelled issues), "tools", "issues", or one tool alone
    # ("pagerduty", "opsgenie") when both page the same services.
    incident_source: str = "auto"
    # An incident tool's service (PagerDuty, Opsgenie) → the deployed services or repositories it stands
    # for; an unmapped service stands for the service or repository of its own name.
    incident_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A PR merged before its repository's first known deployment is deployed by it only if
    # merged at most this many days before it (older ones predate the deployment history).
    first_deployment_lookback_days: int = 7
    # Bots: logins/emails matched by regex, in addition to what each source marks as a bot.
    bot_patterns: tuple[str, ...] = (r"\[bot\]$", r"(?i)^(dependabot|renovate|github-actions)",
                                     r"(?i)-bot$", r"(?i)^ci[-_]")
    # Teams: team name → member references ("github:login", "gitlab:username", "jira:accountId",
    # "slack:U123", "email:someone@example.com").
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    services: tuple[ServiceRule, ...] = ()
    # Identity overrides: groups of references that are one person; references that must be
    # separate people even if their emails match.
    identity_merges: tuple[tuple[str, ...], ...] = ()
    identity_splits: tuple[str, ...] = ()
    stale_pr_days: int = 14
    # Merges into the repository's default branch are changes to production; so are merges into
    # branches matching these (regex), e.g. "^release/". Other merges are never deployed.
    release_branch_patterns: tuple[str, ...] = ()
    # Issue flow: statuses (regex) in which an in-progress issue waits rather than being worked
    # on; they count against flow efficiency.
    waiting_statuses: tuple[str, ...] = ("(?i)blocked", "(?i)waiting", "(?i)on hold",
                                         "(?i)ready for")
    # Knowledge concentration (bus factor) looks at this many days of commits and reviews.
    knowledge_window_days: int = 90
    reporting_time_zone: str = "UTC"
    working_hours: tuple[int, int] = (9, 18)
    # Insights (docs/metrics.md, "insights"). Working agreement: an open PR gets its first
    # review within this many working hours (working_hours on weekdays in the reporting time
    # zone, holidays excluded; holidays are "YYYY-MM-DD" dates).
    first_review_working_hours: int = 8
    holidays: tuple[str, ...] = ()
    # An open PR with more changed lines (additions + deletions) than this is too large.
    large_pr_lines: int = 1000
    # Open PRs authored plus Jira issues in progress, per person; and per team, for the teams
    # given a limit here (team name → limit; a team without one has no team limit).
    wip_limit_per_person: int = 4
    wip_limits_per_team: dict[str, int] = field(default_factory=dict)
    # Review load: one reviewer giving more than this percent of a team's reviews over the
    # window is a concentration, once the team has had at least the minimum of reviews.
    review_window_days: int = 28
    review_concentration_percent: int = 60
    review_concentration_min_reviews: int = 10
    # Bus factor 1 is a signal for repositories with at least this many recent commits.
    bus_factor_min_commits: int = 10
    # Sprint at risk: the board's throughput is the median over its last closed sprints.
    sprint_history_sprints: int = 3
    # Trailing band of a weekly metric: median of the previous weeks ± this many median
    # absolute deviations.
    trailing_band_weeks: int = 8
    trailing_band_mads: int = 3
    # Retention: metadata older than this is removed by the out-of-date sensor.
    retention_days: int = 730
    # On "forget a person": delete their rows, or keep rows de-linked (no identifier left).
    person_deletion_mode: str = "delete"
    # The out-of-date run of this weekday (UTC) also lists every source again, to remove what
    # was deleted upstream: as many requests as a first sync, so once a week.
    reconcile_weekday: str = "sunday"

    @property
    def reconcile_weekday_number(self) -> int:
        """``reconcile_weekday`` as ``datetime.weekday()`` counts it (Monday is 0)."""
        return WEEKDAYS.index(self.reconcile_weekday)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


INCIDENT_SOURCES = ("auto", "tools", "issues", "pagerduty", "opsgenie")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TUPLE_FIELDS = {"production_environments", "production_tag_patterns", "production_workflow_names",
                 "incident_issue_types", "incident_labels", "hotfix_labels", "bot_patterns",
                 "identity_splits", "waiting_statuses", "release_branch_patterns", "holidays"}
_POSITIVE_INT_FIELDS = {"stale_pr_days", "retention_days", "incident_attribution_hours",
                        "knowledge_window_days", "first_deployment_lookback_days",
                        "first_review_working_hours", "large_pr_lines", "wip_limit_per_person",
                        "review_window_days", "review_concentration_min_reviews",
                        "bus_factor_min_commits", "sprint_history_sprints",
                        "trailing_band_weeks", "trailing_band_mads"}
_REGEX_FIELDS = {"production_environments", "production_tag_patterns",
                 "production_workflow_names", "bot_patterns", "waiting_statuses",
                 "release_branch_patterns"}


SETTINGS_FILE_HEADER = """\
# Sieve organization settings. Every key is optional; delete a key to use its default.
# Regular expressions are Python/RE2-compatible and matched case-sensitively unless (?i).
#
# Examples of the structured settings (empty by default):
#   teams:
#     payments: ["github:octo-alice", "jira:5b10ac8d82e05b22cc7d4ef5", "email:bob@example.com"]
#   services:
#     - {name: checkout, repository: shop, paths: ["services/checkout/"]}
#   identity_merges:
#     - ["github:octo-alice", "slack:U012AB3CD"]
#   identity_splits: ["email:shared-inbox@example.com"]
#   incident_services:
#     "Checkout API": ["checkout", "shop"]
#   wip_limits_per_team:
#     payments: 10
"""


def config_path(sieve_home: Path, slug: str) -> Path:
    return Path(sieve_home) / "config" / f"{slug}.yaml"


def _fail(path: Path, key: str, expected: str) -> OrgConfigError:
    return OrgConfigError(f"{path}: '{key}' must be {expected}. Fix the file (or delete it to "
                          "use the defaults) and run again; nothing was changed.")


def _string_list(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, key, "a list of strings")
    return tuple(value)


def parse_org_config(data: Any, path: Path) -> OrgConfig:
    if data is None:
        return OrgConfig()
    if not isinstance(data, dict):
        raise OrgConfigError(f"{path}: expected a mapping of settings at the top level.")
    defaults = OrgConfig()
    known = set(defaults.as_dict())
    unknown = sorted(set(data) - known)
    if unknown:
        raise OrgConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known settings "
                             f"are {', '.join(sorted(known))}.")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TUPLE_FIELDS:
            values[key] = _string_list(path, key, value)
            if key == "holidays":
                _check_dates(path, key, values[key])
            if key in _REGEX_FIELDS:
                for pattern in values[key]:
                    try:
                        re.compile(pattern)
                    except re.error as error:
                        raise _fail(path, key, f"valid regular expressions ({pattern!r}: "
                                               f"{error})") from None
        elif key == "teams":
            if not isinstance(value, dict):
                raise _fail(path, key, "a mapping of team name to a list of member references")
            values[key] = {str(team): _string_list(path, f"teams.{team}", members)
                           for team, members in value.items()}
        elif key == "services":
            if not isinstance(value, list):
                raise _fail(path, key, "a list of {name, repository, paths} mappings")
            values[key] = tuple(_service(path, index, rule) for index, rule in enumerate(value))
        elif key == "identity_merges":
            if not isinstance(value, list):
                raise _fail(path, key, "a list of lists of references")
            values[key] = tuple(_string_list(path, f"{key}[{i}]", group)
                                for i, group in enumerate(value))
        elif key == "working_hours":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(h, int) and 0 <= h <= 24 for h in value)):
                raise _fail(path, key, "two hours [start, end] between 0 and 24")
            values[key] = tuple(value)
        elif key in _POSITIVE_INT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise _fail(path, key, "a positive whole number")
            values[key] = value
        elif key == "incident_source":
            if value not in INCIDENT_SOURCES:
                raise _fail(path, key, f"one of {', '.join(INCIDENT_SOURCES)}")
            values[key] = value
        elif key == "incident_services":
            if not isinstance(value, dict):
                raise _fail(path, key, "a mapping of incident tool service name to a list of "
                            "services or repositories")
            values[key] = {str(name): _string_list(path, f"{key}.{name}", scopes)
                           for name, scopes in value.items()}
        elif key == "wip_limits_per_team":
            values[key] = _team_limits(path, key, value, data.get("teams") or {})
        elif key == "reconcile_weekday":
            if not isinstance(value, str) or value.lower() not in WEEKDAYS:
                raise _fail(path, key, f"a day of the week ({', '.join(WEEKDAYS)})")
            values[key] = value.lower()
        elif key == "review_concentration_percent":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 100:
                raise _fail(path, key, "a whole percentage between 1 and 99")
            values[key] = value
        elif key == "reporting_time_zone":
            if not isinstance(value, str) or value not in available_timezones():
                raise _fail(path, key, "an IANA time zone name such as Europe/Berlin or UTC")
            values[key] = value
        elif key == "person_deletion_mode":
            if value not in ("delete", "delink"):
                raise _fail(path, key, "'delete' or 'delink'")
            values[key] = value
        else:
            if not isinstance(value, str):
                raise _fail(path, key, "a string")
            values[key] = value
    return replace(defaults, **values)


def _team_limits(path: Path, key: str, value: Any, teams: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
            isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
            for limit in value.values()):
        raise _fail(path, key, "a mapping of team name to a positive whole number")
    unknown = sorted(str(team) for team in value if team not in teams)
    if unknown:
        raise _fail(path, key, f"limits of teams listed under 'teams' ({', '.join(unknown)} "
                               "is not one)")
    return {str(team): limit for team, limit in value.items()}


def _check_dates(path: Path, key: str, dates: tuple[str, ...]) -> None:
    for value in dates:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _fail(path, key, f"dates written YYYY-MM-DD ({value!r} is not one)") from None


def _service(path: Path, index: int, rule: Any) -> ServiceRule:
    where = f"services[{index}]"
    if not isinstance(rule, dict) or not {"name", "repository", "paths"} <= set(rule):
        raise _fail(path, where, "a mapping with name, repository and paths")
    return ServiceRule(str(rule["name"]), str(rule["repository"]),
                       _string_list(path, f"{where}.paths", rule["paths"]))


def load_org_config(sieve_home: Path, slug: str) -> OrgConfig:
    path = config_path(sieve_home, slug)
    if not path.exists():
        return OrgConfig()
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise OrgConfigError(f"{path}: not valid YAML{where}. Fix it or delete it to use the "
                             "defaults; nothing was changed.") from None
    return parse_org_config(data, path)


def write_org_config(sieve_home: Path, slug: str, settings: dict | None = None) -> Path:
    """Write SLUG's settings file: the documented defaults with ``settings`` in their place."""
    path = config_path(sieve_home, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(default_config_yaml(settings))
    return path


def default_config_yaml(settings: dict | None = None) -> str:
    """The documented defaults, as written by `sieve config init` (``settings`` replace the
    defaults of the keys they name)."""
    body = yaml.safe_dump({**_plain(OrgConfig().as_dict()), **(settings or {})},
                          sort_keys=False, allow_unicode=True)
    return SETTINGS_FILE_HEADER + body


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
