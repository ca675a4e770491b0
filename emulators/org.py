"""The demo organization every emulator serves: deterministic from (seed, scale), generated lazily.

``Org`` holds what the sources share (the scale, people and teams, the logical clock, the
mutations tests make between syncs, the text helpers that plant canaries and PII) and composes
one part per source: ``org.github`` (GitHub repositories and GitLab projects), ``org.jira``,
``org.slack``, ``org.pagerduty``, ``org.opsgenie``, ``org.bitbucket`` and
``org.azuredevops``, each in ``emulators/<source>/data.py``.
Nothing is stored in bulk: item ``k`` of a
container is a pure function of ``(seed, container, k)`` and the mutations.

Every place a connector must never keep holds a canary (``CANARY-<kind>-<hex>``); kept text
(titles, public Slack messages) carries forbidden PII from a small per-seed catalogue plus
permitted PII (handles, emails of people). ``canaries()`` and ``forbidden_pii()`` list them.
"""

from __future__ import annotations

import random
import threading
import unicodedata
from dataclasses import dataclass
from dataclasses import replace as _replace
from datetime import date, datetime, timedelta

from emulators.azuredevops.data import AzureDevOpsData
from emulators.bitbucket.data import BitbucketData
from emulators.github.data import GitHubData
from emulators.jira.data import JiraData
from emulators.model import (
    CANARY_PREFIX,
    DEFAULT_ANCHOR,
    ORG_NOW,
    ORG_START,
    TEAM_NAMES,
    TITLE_OBJECTS,
    Person,
    Team,
    org_window,
    rng,
    stable_hex,
    stable_int,
)
from emulators.opsgenie.data import OpsgenieData
from emulators.pagerduty.data import PagerDutyData
from emulators.pii import build_pii_catalogue
from emulators.slack.data import SlackData
from emulators.slack.model import slack_id

__all__ = ["CANARY_PREFIX", "DEFAULT_ANCHOR", "ORG_NOW", "ORG_START", "SCALES", "Org", "Scale"]

EMAIL_DOMAIN = "sieve-demo.example"
ORG_LOGIN = "sieve-demo"
GITLAB_GROUP = "sieve-demo-infra"


@dataclass(frozen=True)
class Scale:
    name: str
    github_repos: int
    gitlab_projects: int
    items_per_repo: int
    people: int
    teams: int
    jira_projects: int
    issues_per_project: int
    public_channels: int
    private_channels: int
    messages_per_channel: int
    deploy_interval_days: float
    # Git repositories of the Azure DevOps project (after the GitHub and GitLab ones).
    azuredevops_repos: int = 2


SCALES = {
    # Every PR kind and title decoration appears in each tiny repository (12 PRs + 3 issues).
    "tiny": Scale("tiny", 3, 1, 15, 12, 2, 2, 24, 3, 1, 24, 6.0),
    # One repository of 50 pull requests: the first sync of a small team (bench/small_sync_bench.py).
    "small": Scale("small", 1, 1, 62, 12, 2, 1, 24, 2, 1, 24, 3.0),
    "demo": Scale("demo", 10, 2, 250, 40, 5, 3, 1000, 6, 2, 300, 2.0),
    "large": Scale("large", 100, 10, 1250, 300, 12, 10, 5000, 20, 4, 2000, 1.0),
}


TIME_ZONES = (
    "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "America/New_York",
    "Australia/Sydney", "Europe/London", "America/Sao_Paulo", "Asia/Tokyo",
)
# Synthetic names only. The first entries cover RTL scripts, emoji and zero-width characters.
SPECIAL_PEOPLE = (
    ("avery-quillon", "Avery Quillon"),
    ("priya-varga", "Priya Varga"),
    ("noa-bendavid", "נועה בן־דוד"),
    ("mateo-castellan", "Mateo Castellan"),
    ("layla-haddad", "ليلى الحداد"),
    ("kenji-tanaka-reyes", "Kenji Tanaka-Reyes"),
    ("sam-okoro", "Sam 🚀 Okoro"),
    ("mira-norgaard", "Mi\u200bra Nørgaard"),
    ("zoe-angstrom", "Zoë Ångström"),
    ("farid-brightwater", "Farid Brightwater"),
)
FIRST_NAMES = (
    "Amara", "Lars", "Ingrid", "Tomás", "Mei", "Oluwaseun", "Saoirse", "Dmitri", "Hana",
    "Björn", "Chidi", "Inès", "Yusuf", "Elif", "Rowan", "Tamsin", "Idris", "Keziah", "Orla", "Teo",
)
LAST_NAMES = (
    "Marsh", "Okafor-Lind", "Ashdown", "Pemberton", "Sallow", "Fairweather", "Kowalczyk",
    "Dunmore", "Halloran", "Vantongeren", "Quaresma", "Lindqvist", "Abernethy", "Mbeki-Hart",
)


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in folded.lower()).split())


def _make_person(seed: int, index: int, login: str, name: str, team: str | None,
                 kind: str = "human") -> Person:
    gen = rng(seed, "person", index)
    email = f"{login}@{EMAIL_DOMAIN}"
    github_id = 1000 + stable_int(seed, "gh-id", index) % 9_000_000
    commit_email, commit_linked = email, True
    jira_email, jira_name = email, name
    slack_email, slack_name = email, name.split()[0] if kind == "human" else name
    # Deliberate identity mismatches (positions fixed so tiny has each of them).
    if index == 3:
        jira_email = f"{login.replace('-', '.')}@contractor-mail.example"
    if index == 5:
        slack_name = "kenji 🍣"
        jira_name = "K. Tanaka-Reyes"
    if index == 8:
        commit_email = f"{github_id}+{login}@users.noreply.github.com"
    if index == 9:
        commit_email, commit_linked = f"{login}@build-laptop.local", False
    return Person(
        index=index, login=login, name=name, email=email,
        tz=TIME_ZONES[(index + gen.randrange(2)) % len(TIME_ZONES)],
        team=team, kind=kind, github_id=github_id,
        gitlab_id=100 + index, gitlab_username=login.replace("-", "."),
        commit_email=commit_email, commit_linked=commit_linked,
        jira_account_id=stable_hex(24, seed, "jira-account", index),
        jira_email=jira_email, jira_display_name=jira_name,
        slack_id=slack_id("U", seed, "slack-user", index),
        slack_email=slack_email, slack_display_name=slack_name,
    )


def _bot(seed: int, index: int, login: str, name: str, github_id: int) -> Person:
    return Person(
        index=index, login=login, name=name, email=f"{github_id}+{login}@users.noreply.github.com",
        tz="Etc/UTC", team=None, kind="bot", github_id=github_id,
        gitlab_id=index + 100, gitlab_username=login.replace("[bot]", "-bot"),
        commit_email=f"{github_id}+{login}@users.noreply.github.com", commit_linked=True,
        jira_account_id=stable_hex(24, seed, "jira-account", index),
        jira_email="", jira_display_name=name,
        slack_id=slack_id("U", seed, "slack-user", index),
        slack_email="", slack_display_name=name,
    )


class Mutations:
    """What tests change upstream between two syncs, on the org's logical clock.

    Keys are ``(namespace, container index, item number)``; every change moves the clock a
    minute and bumps ``generation``, so caches keyed by it never go stale.
    """

    def __init__(self, start_clock: datetime = ORG_NOW) -> None:
        self._lock = threading.RLock()
        self.generation = 0
        self._start_clock = start_clock
        self._forget()

    def _forget(self) -> None:
        self.clock: datetime = self._start_clock
        self.touched: dict[tuple, datetime] = {}
        self.deleted: set[tuple] = set()
        self.added_times: dict[tuple, datetime] = {}  # (ns, container, k) -> created
        self.added_counts: dict[tuple, int] = {}  # (ns, container) -> n added
        self.issues_disabled: set[int] = set()  # GitHub repo indexes

    def reset(self) -> None:
        with self._lock:
            self.generation += 1
            self._forget()

    def advance_clock(self, seconds: float = 60.0) -> datetime:
        with self._lock:
            self.generation += 1
            self.clock += timedelta(seconds=seconds)
            return self.clock

    def _tick(self) -> datetime:
        return self.advance_clock(60)

    def touch(self, key: tuple) -> datetime:
        with self._lock:
            at = self._tick()
            self.touched[key] = at
            return at

    def add(self, ns: str, container: object, base_count: int) -> int:
        """Number of the item added now to ``container`` (after its ``base_count`` items)."""
        with self._lock:
            at = self._tick()
            n = self.added_counts.get((ns, container), 0) + 1
            self.added_counts[(ns, container)] = n
            k = base_count + n
            self.added_times[(ns, container, k)] = at
            return k

    def delete(self, key: tuple) -> None:
        with self._lock:
            self._tick()
            self.deleted.add(key)

    def disable_issues(self, repo_index: int) -> None:
        with self._lock:
            self._tick()
            self.issues_disabled.add(repo_index)

    def is_deleted(self, key: tuple) -> bool:
        return key in self.deleted

    def added_at(self, ns: str, container: int, k: int) -> datetime | None:
        return self.added_times.get((ns, container, k))

    def added_count(self, ns: str, container: int) -> int:
        return self.added_counts.get((ns, container), 0)

    def with_touch(self, item, key: tuple, field_name: str):
        """``item`` with its update time moved to a later touch of ``key``, if any."""
        touched = self.touched.get(key)
        if touched is not None and touched > getattr(item, field_name):
            return _replace(item, **{field_name: touched})
        return item


class _ServedBy:
    """An ``Org`` attribute one source's part serves: ``org.repos`` is ``org.github.repos``.
    Keeps the names tests, benchmarks and the demo command use on ``Org``."""

    def __init__(self, part: str, name: str | None = None):
        self.part, self.name = part, name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.name = self.name or attribute

    def __get__(self, org: Org | None, owner: type | None = None):
        if org is None:
            return self
        return getattr(getattr(org, self.part), self.name)


class Org:
    """The synthetic organization. Cheap to construct: items are generated when asked for."""

    def __init__(self, scale: str = "tiny", seed: int = 7, anchor: date = DEFAULT_ANCHOR):
        """``anchor``: the day the org's history ends (its "now" is noon UTC that day); the same
        scale, seed and anchor always give the same org."""
        if scale not in SCALES:
            raise ValueError(f"unknown emulator scale {scale!r}; choose one of {sorted(SCALES)}")
        self.scale = SCALES[scale]
        self.seed = seed
        self.anchor = anchor
        self.start_at, self.anchor_at = org_window(anchor)
        self.login = ORG_LOGIN
        self.gitlab_group = GITLAB_GROUP
        self.org_id = 5_000_000 + seed
        self.created_at = self.start_at - timedelta(days=400)
        self.mutations = Mutations(self.anchor_at)
        self._build_people()
        self.pii_catalogue = build_pii_catalogue(seed)
        # One part per source; GitLab projects are part of ``github`` (one repository generator).
        self.github = GitHubData(self)
        self.jira = JiraData(self)
        self.slack = SlackData(self)
        self.pagerduty = PagerDutyData(self)
        self.opsgenie = OpsgenieData(self)
        self.bitbucket = BitbucketData(self)
        self.azuredevops = AzureDevOpsData(self)

    def _build_people(self) -> None:
        s = self.scale
        team_names = TEAM_NAMES[: s.teams] if s.teams <= len(TEAM_NAMES) else tuple(
            f"{TEAM_NAMES[i % len(TEAM_NAMES)]} {i // len(TEAM_NAMES) + 1}" for i in range(s.teams))
        humans = []
        for i in range(s.people):
            if i < len(SPECIAL_PEOPLE):
                login, name = SPECIAL_PEOPLE[i]
            else:
                first = FIRST_NAMES[i % len(FIRST_NAMES)]
                last = LAST_NAMES[(i // len(FIRST_NAMES) + i) % len(LAST_NAMES)]
                name = f"{first} {last}"
                login = f"{_ascii_slug(name)}-{i}"
            humans.append(_make_person(self.seed, i, login, name, team_names[i % len(team_names)]))
        n = s.people
        former = _make_person(self.seed, n, "robin-ashdown", "Robin Ashdown", team_names[0], "former")
        self.humans: tuple[Person, ...] = tuple(humans)
        self.former = former
        self.dependabot = _bot(self.seed, n + 1, "dependabot[bot]", "dependabot[bot]", 49699333)
        self.ci_bot = _bot(self.seed, n + 2, "sieve-ci[bot]", "Sieve CI", 41898282)
        self.people: tuple[Person, ...] = (*humans, former, self.dependabot, self.ci_bot)
        self.bots = (self.dependabot, self.ci_bot)
        self.teams: tuple[Team, ...] = tuple(
            Team(_ascii_slug(t), t, tuple(p.login for p in humans if p.team == t)) for t in team_names)
        self._people_by_login = {p.login: p for p in self.people}

    # -- each source's part, under the names callers use on the org --------------------------

    repos = _ServedBy("github")
    gitlab_projects = _ServedBy("github")
    repo = _ServedBy("github")
    item_count = _ServedBy("github")
    pull_request = _ServedBy("github")
    issue = _ServedBy("github")

    default_branch_commits = _ServedBy("github")
    deployments = _ServedBy("github")
    releases = _ServedBy("github")
    workflow_runs = _ServedBy("github")
    deploy_runs = _ServedBy("github")
    all_workflow_runs = _ServedBy("github")
    failed_production_deployments = _ServedBy("github")
    touch_pull_request = _ServedBy("github")
    touch_merge_request = _ServedBy("github")
    touch_issue = _ServedBy("github")
    add_pull_request = _ServedBy("github")
    delete_issue = _ServedBy("github")
    delete_pull_request = _ServedBy("github")
    disable_issues = _ServedBy("github")

    jira_projects = _ServedBy("jira", "projects")
    jira_project = _ServedBy("jira", "project")
    jira_issue = _ServedBy("jira", "issue")
    jira_issue_by_key = _ServedBy("jira", "issue_by_key")
    jira_issue_count = _ServedBy("jira", "issue_count")
    jira_fix_versions = _ServedBy("jira", "fix_versions")
    sprints = _ServedBy("jira")
    sprint = _ServedBy("jira")
    touch_jira_issue = _ServedBy("jira", "touch_issue")
    add_jira_issue = _ServedBy("jira", "add_issue")
    delete_jira_issue = _ServedBy("jira", "delete_issue")

    channels = _ServedBy("slack")
    direct_messages = _ServedBy("slack")
    message = _ServedBy("slack")
    message_count = _ServedBy("slack")
    message_exists = _ServedBy("slack")
    replies = _ServedBy("slack")
    post_slack_message = _ServedBy("slack", "post_message")
    delete_slack_message = _ServedBy("slack", "delete_message")

    # -- clock and mutations (tests simulating time passing between syncs) --------------------

    @property
    def now(self) -> datetime:
        """The org's logical clock: ``anchor_at`` until a mutation or ``advance_clock`` moves it."""
        return self.mutations.clock

    @property
    def version(self) -> int:
        """Changes with every mutation (and reset), so caches keyed by it never go stale."""
        return self.mutations.generation

    def advance_clock(self, seconds: float = 60.0) -> datetime:
        return self.mutations.advance_clock(seconds)

    def reset_mutations(self) -> None:
        self.mutations.reset()

    # -- people -------------------------------------------------------------------------------

    def person(self, login: str) -> Person | None:
        return self._people_by_login.get(login)

    def person_by_gitlab_id(self, gitlab_id: int) -> Person | None:
        return next((p for p in self.people if p.gitlab_id == gitlab_id), None)

    def person_by_jira_account(self, account_id: str) -> Person | None:
        return next((p for p in self.people if p.jira_account_id == account_id), None)

    def random_human(self, gen: random.Random, exclude: Person | None = None) -> Person:
        while True:
            p = self.humans[gen.randrange(len(self.humans))]
            if p is not exclude or len(self.humans) == 1:
                return p

    # -- text shared by every source -----------------------------------------------------------

    def canary(self, kind: str, *where: object) -> str:
        return f"{CANARY_PREFIX}{kind}-{stable_hex(16, self.seed, kind, *where)}"

    def _pii(self, *where: object) -> tuple[str, str, str]:
        return self.pii_catalogue[stable_int(self.seed, "pii-pick", *where) % len(self.pii_catalogue)]

    def decorated_title(self, base: str, decoration: str, mention: Person, *where: object,
                        pii_index: int | None = None) -> str:
        """A kept title/message carrying the decoration (unicode, long, PII) for ``where``;
        the PII value is picked by hash of ``where`` unless ``pii_index`` names it."""
        if decoration == "emoji":
            return f"🚀 {base} ✅"
        if decoration == "rtl":
            return f"{base} — תיקון באג في الدفع"
        if decoration == "zero_width":
            return base.replace(" ", "\u200b ", 1) + "\u200d"
        if decoration == "long":
            return (base + " — " + " / ".join(TITLE_OBJECTS)) * 2
        if decoration == "forbidden_pii":
            _, value, template = (self.pii_catalogue[pii_index] if pii_index is not None
                                  else self._pii(*where))
            return f"{base}: {template.format(value)}"
        if decoration == "permitted_pii":
            return f"{base} (cc @{mention.login}, {mention.email})"
        return base

    # -- canaries and PII -------------------------------------------------------------------

    def canaries(self) -> list[str]:
        """Every canary the org serves. Each starts with ``CANARY_PREFIX``; scanning for the
        prefix finds them all, which is the practical check at ``large`` scale."""
        texts = (*self.github.canary_texts(), *self.jira.canary_texts(), *self.slack.canary_texts(),
                 *self.pagerduty.canary_texts(), *self.opsgenie.canary_texts(),
                 *self.bitbucket.canary_texts(), *self.azuredevops.canary_texts())
        return sorted({token for text in texts for token in _canary_tokens(text)})

    def forbidden_pii(self) -> list[str]:
        """The forbidden PII values planted in kept text (titles, summaries, public messages)."""
        return [value for _, value, _ in self.pii_catalogue]

    def permitted_pii(self) -> list[str]:
        """Handles and emails of people: allowed to be stored, planted in some titles."""
        return [v for p in self.humans for v in (p.login, p.email)]


def _canary_tokens(text: str) -> list[str]:
    out = []
    start = text.find(CANARY_PREFIX)
    while start >= 0:
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "-"):
            end += 1
        out.append(text[start:end])
        start = text.find(CANARY_PREFIX, end)
    return out
