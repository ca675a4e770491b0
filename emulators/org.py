"""The demo organization every emulator serves: deterministic from (seed, scale), generated lazily.

Nothing here is stored in bulk. Item ``k`` of repository ``r`` (a pull request, an issue, a Jira
issue, a Slack message) is a pure function of ``(seed, r, k)``: listing a page generates only the
items on it, so the ``large`` scale costs no more memory than ``tiny``. The only per-instance state
is the small mutation layer tests use to simulate time passing between syncs (touch, add, delete).

Every place a connector must never keep holds a canary (``CANARY-<kind>-<hex>``); kept text
(titles, public Slack messages) carries forbidden PII from a small per-seed catalogue plus
permitted PII (handles, emails of people). ``canaries()`` and ``forbidden_pii()`` list them.
"""

from __future__ import annotations

import functools
import random
import threading
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from datetime import datetime, timedelta, timezone

from emulators.model import (
    JIRA_STATUSES,
    ChangeItem,
    Channel,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    FileChange,
    History,
    Issue,
    JiraIssue,
    JiraProject,
    Message,
    Person,
    PullRequest,
    Reaction,
    Release,
    Repo,
    Review,
    Sprint,
    Team,
    WorkflowRun,
    rng,
    slack_ts,
    stable_hex,
    stable_int,
)
from emulators.pii import build_pii_catalogue

CANARY_PREFIX = "CANARY-"
EMAIL_DOMAIN = "sieve-demo.example"
ORG_LOGIN = "sieve-demo"
GITLAB_GROUP = "sieve-demo-infra"
# The org's "now": every generated timestamp lies before it; mutations advance a logical clock
# from here so bodies never depend on the wall clock.
ORG_NOW = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)
# ~6 months, spanning the EU (2026-10-25), US (2026-11-01) and Australian (2026-10-04) DST changes.
ORG_START = ORG_NOW - timedelta(days=183)


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


SCALES = {
    # Every PR kind and title decoration appears in each tiny repository (12 PRs + 3 issues).
    "tiny": Scale("tiny", 3, 1, 15, 12, 2, 2, 24, 3, 1, 24, 6.0),
    "demo": Scale("demo", 10, 2, 250, 40, 5, 3, 1000, 6, 2, 300, 2.0),
    "large": Scale("large", 100, 10, 1250, 300, 12, 10, 5000, 20, 4, 2000, 1.0),
}


# ---------------------------------------------------------------------------------------------
# People and teams
# ---------------------------------------------------------------------------------------------


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
TEAM_NAMES = (
    "Payments", "Platform", "Mobile", "Growth", "Data", "Identity", "Search", "Billing",
    "Infra", "Checkout", "Messaging", "Developer Experience",
)


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in folded.lower()).split())


def _slack_id(prefix: str, *parts: object) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    n = stable_int(*parts)
    chars = []
    for _ in range(9):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return prefix + "0" + "".join(chars)


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
        slack_id=_slack_id("U", seed, "slack-user", index),
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
        slack_id=_slack_id("U", seed, "slack-user", index),
        slack_email="", slack_display_name=name,
    )


# ---------------------------------------------------------------------------------------------
# Repositories, pull requests, commits, deployments
# ---------------------------------------------------------------------------------------------


REPO_NAMES = (
    "payments-api", "web-app", "mobile-ios", "mobile-android", "ledger", "search-indexer",
    "notifications", "identity", "infra-terraform", "data-pipelines", "checkout", "design-system",
)
MONOREPO_SERVICES = ("services/payments", "services/ledger", "services/notifications", "web/app")
# One full cycle per tiny repository: every kind is present in the tiny org.
PR_KINDS = ("squash", "merge", "open", "squash", "bot", "closed", "rebase", "revert", "stale",
            "hotfix", "draft", "long")
TITLE_DECORATIONS = ("plain", "emoji", "rtl", "forbidden_pii", "zero_width", "long",
                     "permitted_pii", "plain", "forbidden_pii", "plain", "emoji", "plain")
TITLE_VERBS = ("Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Harden", "Migrate")
TITLE_OBJECTS = (
    "retry logic in webhook consumer", "currency rounding in invoices", "flaky login test",
    "feature flag for new checkout", "pagination of audit log", "cache invalidation on deploy",
    "dark mode tokens", "idempotency keys for refunds", "CSV export of ledger entries",
    "push notification batching", "rate limiter for public API", "schema migration for accounts",
)
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "APPROVED", "DISMISSED")


# ---------------------------------------------------------------------------------------------
# Jira
# ---------------------------------------------------------------------------------------------

DELIVERY_TYPES = ("Epic", "Story", "Story", "Bug", "Story", "Task", "Story", "Bug", "Story", "Task")
OPS_TYPES = ("Incident", "Incident", "Task", "Incident")
JIRA_PROJECT_KEYS = ("PAY", "PLAT", "MOB", "GRO", "DATA", "IDN", "SRCH", "BILL", "CHK")
SPRINT_DAYS = 14


# ---------------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------------

PUBLIC_CHANNEL_NAMES = ("general", "engineering", "deploys", "incidents", "random", "payments-dev",
                        "platform", "mobile", "data", "design", "support-escalations", "growth")
PRIVATE_CHANNEL_NAMES = ("leadership-private", "hr-confidential", "security-response", "offsites")
REACTIONS = ("thumbsup", "eyes", "tada", "white_check_mark", "rocket", "pray")
DM_MESSAGES = 8


# ---------------------------------------------------------------------------------------------
# Mutations: what a test changes upstream between two syncs
# ---------------------------------------------------------------------------------------------

@dataclass
class _Mutations:
    clock: datetime = ORG_NOW
    touched: dict[tuple, datetime] = field(default_factory=dict)
    deleted: set[tuple] = field(default_factory=set)
    added_at: dict[tuple, datetime] = field(default_factory=dict)  # (ns, container, k) -> created
    added_count: dict[tuple, int] = field(default_factory=dict)  # (ns, container) -> n added
    issues_disabled: set[int] = field(default_factory=set)  # GitHub repo indexes


class Org:
    """The synthetic organization. Cheap to construct: items are generated when asked for."""

    def __init__(self, scale: str = "tiny", seed: int = 7):
        if scale not in SCALES:
            raise ValueError(f"unknown emulator scale {scale!r}; choose one of {sorted(SCALES)}")
        self.scale = SCALES[scale]
        self.seed = seed
        self.login = ORG_LOGIN
        self.gitlab_group = GITLAB_GROUP
        self.org_id = 5_000_000 + seed
        self.created_at = ORG_START - timedelta(days=400)
        self._lock = threading.RLock()
        self._mut = _Mutations()
        self._generation = 0
        self._build_people()
        self._build_repos()
        self._build_jira()
        self._build_slack()
        self.pii_catalogue = build_pii_catalogue(seed)

    # -- construction of the small, fixed parts ------------------------------------------------

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

    def _build_repos(self) -> None:
        s = self.scale
        repos = []
        for i in range(s.github_repos + s.gitlab_projects):
            host = "github" if i < s.github_repos else "gitlab"
            if i == 0:
                name, services = "core-monorepo", MONOREPO_SERVICES
            else:
                base = REPO_NAMES[(i - 1) % len(REPO_NAMES)]
                name = base if i - 1 < len(REPO_NAMES) else f"{base}-{(i - 1) // len(REPO_NAMES) + 1}"
                services = ("",)
            team = self.teams[i % len(self.teams)].name
            created = self.created_at + timedelta(days=stable_int(self.seed, "repo", i) % 300)
            repos.append(Repo(i, host, name, team, services, s.items_per_repo,
                              5 if host == "github" else 0, 40_000_000 + self.seed * 1000 + i,
                              created))
        self.repos: tuple[Repo, ...] = tuple(r for r in repos if r.host == "github")
        self.gitlab_projects: tuple[Repo, ...] = tuple(r for r in repos if r.host == "gitlab")
        self._repos_by_name = {(r.host, r.name): r for r in repos}
        self._repos_by_id = {r.repo_id: r for r in repos}

    def _build_jira(self) -> None:
        s = self.scale
        projects = []
        for i in range(s.jira_projects):
            is_ops = i == s.jira_projects - 1
            key = "OPS" if is_ops else JIRA_PROJECT_KEYS[i % len(JIRA_PROJECT_KEYS)] + (
                "" if i < len(JIRA_PROJECT_KEYS) else str(i // len(JIRA_PROJECT_KEYS)))
            name = "Operations" if is_ops else f"{TEAM_NAMES[i % len(TEAM_NAMES)]} delivery"
            projects.append(JiraProject(i, key, name, str(10000 + i), self.humans[i % len(self.humans)],
                                        s.issues_per_project, 1 + i, is_ops))
        self.jira_projects: tuple[JiraProject, ...] = tuple(projects)
        self._jira_by_key = {p.key: p for p in projects}
        n_sprints = int((ORG_NOW - ORG_START).days // SPRINT_DAYS) + 2
        self._sprints_by_board: dict[int, tuple[Sprint, ...]] = {}
        for p in projects:
            if p.is_ops:
                continue
            sprints = tuple(
                Sprint(p.board_id * 1000 + j + 1, p.board_id, f"{p.key} Sprint {j + 1}",
                       ORG_START + timedelta(days=SPRINT_DAYS * j, hours=8),
                       ORG_START + timedelta(days=SPRINT_DAYS * (j + 1), hours=8),
                       f"Ship {TITLE_OBJECTS[(j + p.index) % len(TITLE_OBJECTS)]}")
                for j in range(n_sprints))
            self._sprints_by_board[p.board_id] = sprints

    def _build_slack(self) -> None:
        s = self.scale
        channels = []
        for i in range(s.public_channels + s.private_channels):
            private = i >= s.public_channels
            names = PRIVATE_CHANNEL_NAMES if private else PUBLIC_CHANNEL_NAMES
            j = i - s.public_channels if private else i
            name = names[j % len(names)] + ("" if j < len(names) else f"-{j // len(names) + 1}")
            channels.append(Channel(
                i, _slack_id("C", self.seed, "channel", i), name, private,
                self.created_at + timedelta(days=i), self.humans[i % len(self.humans)],
                s.messages_per_channel, f"All things {name}", f"Discussion for #{name}"))
        self.channels: tuple[Channel, ...] = tuple(channels)
        # Direct messages: private communication that only ``types=im`` lists.
        self.direct_messages: tuple[Channel, ...] = tuple(
            Channel(len(channels) + j, _slack_id("D", self.seed, "dm", j), "", True,
                    self.created_at + timedelta(days=j), self.humans[j % len(self.humans)],
                    DM_MESSAGES, "", "", peer=self.humans[(j + 1) % len(self.humans)])
            for j in range(max(2, s.private_channels)))
        self._channels_by_id = {c.channel_id: c for c in (*channels, *self.direct_messages)}
        self.slack_team_id = _slack_id("T", self.seed, "team")

    # -- lookups ------------------------------------------------------------------------------

    def person(self, login: str) -> Person | None:
        return self._people_by_login.get(login)

    def person_by_gitlab_id(self, gitlab_id: int) -> Person | None:
        return next((p for p in self.people if p.gitlab_id == gitlab_id), None)

    def person_by_jira_account(self, account_id: str) -> Person | None:
        return next((p for p in self.people if p.jira_account_id == account_id), None)

    def repo(self, name: str, host: str = "github") -> Repo | None:
        return self._repos_by_name.get((host, name))

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return self._repos_by_id.get(repo_id)

    def jira_project(self, key: str) -> JiraProject | None:
        return self._jira_by_key.get(key)

    def sprints(self, board_id: int) -> tuple[Sprint, ...]:
        return self._sprints_by_board.get(board_id, ())

    def sprint(self, sprint_id: int) -> Sprint | None:
        return next((s for s in self.sprints(sprint_id // 1000) if s.sprint_id == sprint_id), None)

    def channel(self, channel_id: str) -> Channel | None:
        return self._channels_by_id.get(channel_id)

    @property
    def now(self) -> datetime:
        """The org's logical clock: ORG_NOW until a mutation or ``advance_clock`` moves it."""
        return self._mut.clock

    # -- mutations (tests simulating time passing between syncs) ------------------------------

    def advance_clock(self, seconds: float = 60.0) -> datetime:
        with self._lock:
            self._generation += 1
            self._mut.clock += timedelta(seconds=seconds)
            return self._mut.clock

    def _tick(self) -> datetime:
        return self.advance_clock(60)

    def _touch(self, key: tuple) -> datetime:
        with self._lock:
            at = self._tick()
            self._mut.touched[key] = at
            return at

    def _add(self, ns: str, container: object, base_count: int) -> int:
        with self._lock:
            at = self._tick()
            n = self._mut.added_count.get((ns, container), 0) + 1
            self._mut.added_count[(ns, container)] = n
            k = base_count + n
            self._mut.added_at[(ns, container, k)] = at
            return k

    def _delete(self, key: tuple) -> None:
        with self._lock:
            self._tick()
            self._mut.deleted.add(key)

    def reset_mutations(self) -> None:
        with self._lock:
            self._generation += 1
            self._mut = _Mutations()

    def _repo_or_error(self, name: str, host: str) -> Repo:
        repo = self.repo(name, host)
        if repo is None:
            raise KeyError(f"no {host} repository named {name!r} in the {self.scale.name} org")
        return repo

    def _existing(self, repo: str, number: int, host: str, wants_pr: bool) -> tuple:
        """The mutation key of an existing PR/MR (or issue), or a KeyError naming it."""
        r = self._repo_or_error(repo, host)
        item = self.pull_request(r, number) if wants_pr else self.issue(r, number)
        if item is None:
            kind = "pull request" if wants_pr else "issue"
            raise KeyError(f"no {kind} #{number} in {host} repository {repo!r}")
        return ("gh", r.index, number)

    def touch_pull_request(self, repo: str, number: int, host: str = "github") -> datetime:
        """Mark a PR (or GitLab MR) updated now: its updated_at and ETag change."""
        return self._touch(self._existing(repo, number, host, wants_pr=True))

    def touch_merge_request(self, project: str, iid: int) -> datetime:
        return self.touch_pull_request(project, iid, host="gitlab")

    def touch_issue(self, repo: str, number: int) -> datetime:
        return self._touch(self._existing(repo, number, "github", wants_pr=False))

    def add_pull_request(self, repo: str, host: str = "github") -> int:
        """Open a new PR (or GitLab MR) created now; returns its number."""
        r = self._repo_or_error(repo, host)
        k = self._add("gh", r.index, r.items)
        while r.is_issue_number(k):
            # The number belongs to an issue slot: consume it as an issue opened and deleted
            # (GitHub numbers PRs and issues in one sequence, so gaps are real).
            self._delete(("gh", r.index, k))
            k = self._add("gh", r.index, r.items)
        return k

    def delete_issue(self, repo: str, number: int) -> None:
        """Delete an issue upstream: 404 afterwards, gone from every list."""
        self._delete(self._existing(repo, number, "github", wants_pr=False))

    def delete_pull_request(self, repo: str, number: int, host: str = "github") -> None:
        """Make a PR/MR disappear upstream (as after a repository purge), for deletion tests."""
        self._delete(self._existing(repo, number, host, wants_pr=True))

    def disable_issues(self, repo: str) -> None:
        """Switch a GitHub repository's issues off: ``has_issues`` false, the issue endpoints
        answer 410 "Issues are disabled for this repo"."""
        r = self._repo_or_error(repo, "github")
        with self._lock:
            self._tick()
            self._mut.issues_disabled.add(r.index)

    def issues_enabled(self, repo: Repo) -> bool:
        return repo.index not in self._mut.issues_disabled

    def touch_jira_issue(self, key: str) -> datetime:
        project, number = self._jira_key(key)
        return self._touch(("jira", project.index, number))

    def add_jira_issue(self, project_key: str) -> str:
        project = self.jira_project(project_key)
        if project is None:
            raise KeyError(f"no Jira project {project_key!r} in the {self.scale.name} org")
        return f"{project.key}-{self._add('jira', project.index, project.issues)}"

    def delete_jira_issue(self, key: str) -> None:
        project, number = self._jira_key(key)
        self._delete(("jira", project.index, number))

    def post_slack_message(self, channel_name: str) -> str:
        """Post a new top-level message now; returns its ts."""
        channel = self._channel_by_name(channel_name)
        k = self._add("slack", channel.index, channel.messages)
        return self.message(channel, k).ts

    def delete_slack_message(self, channel_name: str, ts: str) -> None:
        channel = self._channel_by_name(channel_name)
        for k in range(1, self.message_count(channel) + 1):
            if self.message(channel, k).ts == ts:
                self._delete(("slack", channel.index, k))
                return
        raise KeyError(f"no message {ts} in #{channel_name}")

    def _channel_by_name(self, name: str) -> Channel:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(f"no Slack channel #{name} in the {self.scale.name} org")

    def _jira_key(self, key: str) -> tuple[JiraProject, int]:
        project_key, _, number = key.rpartition("-")
        project = self.jira_project(project_key)
        if project is None or not number.isdigit() or self.jira_issue(project, int(number)) is None:
            raise KeyError(f"no Jira issue {key!r} in the {self.scale.name} org")
        return project, int(number)

    def _is_deleted(self, key: tuple) -> bool:
        return key in self._mut.deleted

    def _added_at(self, ns: str, container: int, k: int) -> datetime | None:
        return self._mut.added_at.get((ns, container, k))

    def _with_touch(self, item, key: tuple, field_name: str):
        """``item`` with its update time moved to a later touch of ``key``, if any."""
        touched = self._mut.touched.get(key)
        if touched is not None and touched > getattr(item, field_name):
            return _replace(item, **{field_name: touched})
        return item

    def item_count(self, repo: Repo) -> int:
        """Highest number in use (PRs and issues share one sequence, like on GitHub)."""
        return repo.items + self._mut.added_count.get(("gh", repo.index), 0)

    # -- text ---------------------------------------------------------------------------------

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

    # -- GitHub/GitLab items ------------------------------------------------------------------

    def _slot(self, repo: Repo, k: int) -> datetime:
        added = self._added_at("gh", repo.index, k)
        if added is not None:
            return added
        span = (ORG_NOW - ORG_START).total_seconds() - 86400
        jitter = rng(self.seed, "slot", repo.index, k).uniform(0.05, 0.45)
        return ORG_START + timedelta(seconds=span * (k - 1 + jitter) / repo.items)

    def item_exists(self, repo: Repo, number: int) -> bool:
        return 1 <= number <= self.item_count(repo) and not self._is_deleted(("gh", repo.index, number))

    def pull_request(self, repo: Repo, number: int) -> PullRequest | None:
        if not self.item_exists(repo, number) or repo.is_issue_number(number):
            return None
        pr = self._pull_request_base(repo, number, self._added_at("gh", repo.index, number))
        return self._with_touch(pr, ("gh", repo.index, number), "updated_at")

    def issue(self, repo: Repo, number: int) -> Issue | None:
        if not self.item_exists(repo, number) or not repo.is_issue_number(number):
            return None
        return self._with_touch(self._issue_base(repo, number), ("gh", repo.index, number), "updated_at")

    def item_updated_at(self, repo: Repo, number: int) -> datetime:
        item = self.pull_request(repo, number) or self.issue(repo, number)
        return item.updated_at

    def _author_for(self, gen: random.Random, exclude: Person | None = None) -> Person:
        while True:
            p = self.humans[gen.randrange(len(self.humans))]
            if p is not exclude or len(self.humans) == 1:
                return p

    def _pr_kind(self, repo: Repo, number: int) -> str:
        ordinal = number - (number // repo.issue_every if repo.issue_every else 0)
        return PR_KINDS[(ordinal - 1 + repo.index * 3) % len(PR_KINDS)]

    def _pr_title(self, repo: Repo, number: int, kind: str, author: Person) -> str:
        gen = rng(self.seed, "title", repo.index, number)
        base = f"{gen.choice(TITLE_VERBS)} {gen.choice(TITLE_OBJECTS)}"
        if repo.is_monorepo:
            base = f"[{repo.services[number % len(repo.services)].split('/')[-1]}] {base}"
        if kind == "bot":
            return (f"Bump requests from 2.31.{number % 7} to 2.32.{number % 5} "
                    f"in /{repo.services[number % len(repo.services)]}")
        if kind == "revert":
            return f'Revert "{base}"'
        if kind == "hotfix":
            base = f"Hotfix: {base}"
        ordinal = number - (number // repo.issue_every if repo.issue_every else 0)
        decoration = TITLE_DECORATIONS[(ordinal - 1 + repo.index) % len(TITLE_DECORATIONS)]
        mention = self.humans[(number + 1) % len(self.humans)]
        return self.decorated_title(base, decoration, mention, "pr", repo.index, number)

    @functools.lru_cache(maxsize=4096)
    def _pull_request_base(self, repo: Repo, number: int, added_at: datetime | None) -> PullRequest:
        gen = rng(self.seed, "pr", repo.index, number)
        created = self._slot(repo, number)
        kind = "open" if added_at is not None else self._pr_kind(repo, number)
        # A PR of a deleted account shows as "ghost"; every 17th human PR belongs to the former
        # employee so tiny has at least a few.
        if kind == "bot":
            author = self.dependabot
        elif number % 17 == 4:
            author = self.former
        else:
            author = self._author_for(gen)
        title = self._pr_title(repo, number, kind, author)
        body = (f"## Summary\n{gen.choice(TITLE_OBJECTS)} for {repo.name}.\n\n"
                f"{self.canary('pr-body', repo.index, number)}\n")
        duration = {
            "squash": gen.uniform(2, 72), "merge": gen.uniform(4, 120), "rebase": gen.uniform(1, 48),
            "closed": gen.uniform(24, 300), "bot": gen.uniform(0.5, 30), "revert": gen.uniform(0.2, 3),
            "hotfix": gen.uniform(0.3, 4), "long": gen.uniform(500, 1400),
        }.get(kind)
        finished = created + timedelta(hours=duration) if duration is not None else None
        if finished is not None and finished > ORG_NOW - timedelta(hours=1):
            kind, finished = "open", None
        merged = finished if kind in ("squash", "merge", "rebase", "bot", "revert", "hotfix",
                                      "long") else None
        closed = finished
        head_ref = {"bot": f"dependabot/pip/requests-2.32.{number % 5}",
                    "hotfix": f"hotfix/{number}", "revert": f"revert-{number}"}.get(
            kind, f"{author.login.split('-')[0]}/change-{number}")
        reviewers = [self._author_for(gen, author) for _ in range(gen.randrange(0, 4))]
        if kind in ("hotfix", "bot") and number % 2:
            reviewers = []
        end = finished or (created if added_at is not None else created + timedelta(days=3) if kind == "stale" else
                           min(ORG_NOW - timedelta(minutes=5), created + timedelta(hours=gen.uniform(1, 96))))
        n_commits = 1 if kind in ("bot", "revert") else 1 + gen.randrange(4)
        commits = []
        parent = self._sha(repo, number, 9, 0)
        for i in range(n_commits):
            at = created - timedelta(hours=n_commits - i) if i < n_commits - 1 else created
            sha = self._sha(repo, number, 0, i)
            commits.append(self._commit(repo, number, i, sha, author, author, at, at,
                                        f"{title[:60]}: step {i + 1}", (parent,), gen))
            parent = sha
        reviews = []
        for j, reviewer in enumerate(reviewers):
            at = created + (end - created) * (j + 1) / (len(reviewers) + 1)
            state = REVIEW_STATES[(number + j) % len(REVIEW_STATES)]
            if merged and j == len(reviewers) - 1:
                state = "APPROVED"
            review_body = "" if state == "APPROVED" and j % 2 == 0 else (
                f"Looks {'good' if state == 'APPROVED' else 'risky'}. "
                f"{self.canary('review-body', repo.index, number, j)}")
            reviews.append(Review(stable_int(self.seed, "review", repo.index, number, j) % 10**9,
                                  reviewer, state, review_body, at, commits[-1].sha))
        comments = tuple(
            Comment(stable_int(self.seed, "comment", repo.index, number, j) % 10**10,
                    self._author_for(gen), f"Comment: {self.canary('comment-body', repo.index, number, j)}",
                    created + (end - created) * (j + 1) / 4, created + (end - created) * (j + 1) / 4)
            for j in range(gen.randrange(0, 3)))
        landed: tuple[Commit, ...] = ()
        merge_sha = None
        merged_by = None
        if merged:
            merged_by = reviewers[-1] if reviewers else author if not author.is_bot else self.humans[0]
            if kind == "merge":
                merge_sha = self._sha(repo, number, 2, 0)
                landed = (*commits, self._commit(
                    repo, number, 100, merge_sha, merged_by, None, merged, merged,
                    f"Merge pull request #{number} from {ORG_LOGIN}/{head_ref}\n\n{title}\n\n"
                    f"{self.canary('commit-body', repo.index, number, 'merge')}",
                    (self._sha(repo, number, 9, 0), commits[-1].sha), gen))
            elif kind == "rebase":
                rebased = []
                for i, c in enumerate(commits):
                    rebased.append(_replace(c, sha=self._sha(repo, number, 3, i), committer=None,
                                            committed_at=merged))
                landed = tuple(rebased)
                merge_sha = landed[-1].sha
            else:
                merge_sha = self._sha(repo, number, 1, 0)
                files = tuple(f for c in commits for f in c.files)
                landed = (Commit(merge_sha, author, None, created, merged, f"{title} (#{number})\n\n"
                                 f"* squashed {len(commits)} commits\n"
                                 f"{self.canary('commit-body', repo.index, number, 'squash')}",
                                 (self._sha(repo, number, 9, 0),), files),)
        elif kind not in ("closed",):
            merge_sha = self._sha(repo, number, 4, 0)  # test-merge commit GitHub keeps for open PRs
        updated = max([end, *(r.submitted_at for r in reviews), *(c.updated_at for c in comments)])
        labels = {"bot": ("dependencies",), "hotfix": ("hotfix",), "revert": ("revert", "incident")
                  }.get(kind, ("enhancement",) if number % 3 == 0 else ())
        requested = tuple(p for p in self.humans[number % len(self.humans): number % len(self.humans) + 1]
                          if kind in ("open", "draft", "stale") and p is not author)
        return PullRequest(
            repo=repo, number=number, kind=kind, title=title, body=body, author=author,
            created_at=created, updated_at=updated, closed_at=closed, merged_at=merged,
            merged_by=merged_by, draft=kind == "draft", head_ref=head_ref, base_ref="main",
            labels=labels, commits=tuple(commits), merge_commit_sha=merge_sha, landed=landed,
            reviews=tuple(reviews), comments=comments, requested_reviewers=requested)

    def _sha(self, repo: Repo, number: int, role: int, i: int) -> str:
        """A commit sha that encodes where it comes from (masked by its own first half), so
        single-commit lookups need no index."""
        head = stable_hex(20, self.seed, "sha", repo.index, number, role, i)
        where = int(f"{repo.index:04x}{number:08x}{role:02x}{i:06x}", 16)
        return f"{head}{where ^ int(head, 16):020x}"

    def commit_by_sha(self, repo: Repo, sha: str) -> Commit | None:
        if len(sha) != 40:
            return None
        try:
            where = f"{int(sha[20:], 16) ^ int(sha[:20], 16):020x}"
        except ValueError:
            return None
        r, number, role, i = (int(where[:4], 16), int(where[4:12], 16), int(where[12:14], 16),
                              int(where[14:], 16))
        if r != repo.index or self._sha(repo, number, role, i) != sha:
            return None
        pr = self.pull_request(repo, number)
        if pr is None:
            return None
        for c in (*pr.commits, *pr.landed):
            if c.sha == sha:
                return c
        return None

    def _commit(self, repo: Repo, number: int, i: int, sha: str, author: Person,
                committer: Person | None, authored: datetime, committed: datetime, message: str,
                parents: tuple[str, ...], gen: random.Random) -> Commit:
        if "\n\n" not in message:
            message = f"{message}\n\n{self.canary('commit-body', repo.index, number, i)}"
        files = []
        for f in range(1 + (stable_int(self.seed, "files", repo.index, number, i) % 3)):
            service = repo.services[(number + f) % len(repo.services)]
            prefix = f"{service}/" if service else ""
            ext = ("py", "ts", "go", "md", "yaml")[(number + i + f) % 5]
            adds, dels = gen.randrange(1, 120), gen.randrange(0, 60)
            status = "added" if (i + f) % 7 == 3 else "modified"
            patch = (f"@@ -1,{dels + 1} +1,{adds + 1} @@\n context line\n"
                     f"+{self.canary('patch', repo.index, number, i, f)} = compute(value)\n-old = value\n")
            files.append(FileChange(f"{prefix}src/module_{(number * 7 + f) % 23}_{i}.{ext}", status,
                                    adds, 0 if status == "added" else dels, patch,
                                    stable_hex(40, self.seed, "blob", repo.index, number, i, f)))
        return Commit(sha, author, committer, authored, committed, message, parents, tuple(files))

    @functools.lru_cache(maxsize=2048)
    def _issue_base(self, repo: Repo, number: int) -> Issue:
        gen = rng(self.seed, "issue", repo.index, number)
        created = self._slot(repo, number)
        author = self._author_for(gen)
        base = f"{gen.choice(('Bug', 'Question', 'Chore'))}: {gen.choice(TITLE_OBJECTS)}"
        decoration = TITLE_DECORATIONS[(number // 5 + repo.index) % len(TITLE_DECORATIONS)]
        title = self.decorated_title(base, decoration, self.humans[number % len(self.humans)],
                                     "issue", repo.index, number)
        closed = created + timedelta(hours=gen.uniform(5, 600)) if number % 3 else None
        if closed and closed > ORG_NOW:
            closed = None
        comments = tuple(
            Comment(stable_int(self.seed, "icomment", repo.index, number, j) % 10**10,
                    self._author_for(gen), f"Seen this too. {self.canary('comment-body', repo.index, number, 'i', j)}",
                    created + timedelta(hours=3 * (j + 1)), created + timedelta(hours=3 * (j + 1)))
            for j in range(gen.randrange(0, 4)))
        updated = max([closed or created + timedelta(minutes=10), *(c.updated_at for c in comments)])
        return Issue(repo, number, title,
                     f"Steps to reproduce...\n{self.canary('issue-body', repo.index, number)}",
                     author, created, updated, closed, ("bug",) if "Bug" in base else (), comments,
                     self.humans[(number + 2) % len(self.humans)] if number % 2 else None)

    # -- per-repo indexes (small tuples, cached for a bounded number of repos) -----------------

    @property
    def version(self) -> int:
        """Changes with every mutation (and reset), so caches keyed by it never go stale."""
        return self._generation

    def updated_index(self, repo: Repo) -> tuple[tuple[datetime, int], ...]:
        """(updated_at, number) of every live item in the repo, oldest update first."""
        return self._updated_index(repo, self.version)

    # Index caches hold every repository of the large org (about 15 MB each), so a nightly
    # no-change sync does not rebuild them; a mutation (new version) rebuilds lazily.
    @functools.lru_cache(maxsize=128)
    def _updated_index(self, repo: Repo, _version: int) -> tuple[tuple[datetime, int], ...]:
        rows = [(self.item_updated_at(repo, k), k) for k in range(1, self.item_count(repo) + 1)
                if self.item_exists(repo, k)]
        return tuple(sorted(rows))

    def default_branch_commits(self, repo: Repo) -> tuple[tuple[datetime, str, int], ...]:
        """(committed_at, sha, pr number) of the default branch, newest first."""
        return self._branch_index(repo, self.version)

    @functools.lru_cache(maxsize=128)
    def _branch_index(self, repo: Repo, _version: int) -> tuple[tuple[datetime, str, int], ...]:
        rows = []
        for k in range(1, self.item_count(repo) + 1):
            pr = self.pull_request(repo, k)
            if pr is not None and pr.merged_at:
                rows.extend((c.committed_at, c.sha, k) for c in pr.landed)
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return tuple(rows)

    def commit_on_branch_before(self, repo: Repo, at: datetime) -> str:
        rows = self.default_branch_commits(repo)
        for committed_at, sha, _ in rows:
            if committed_at <= at:
                return sha
        return self._sha(repo, 0, 9, 0)

    # -- deployments, releases, workflow runs -------------------------------------------------

    def deployment_trains(self, repo: Repo) -> int:
        return int((ORG_NOW - ORG_START).days / self.scale.deploy_interval_days)

    def deployments(self, repo: Repo) -> list[Deployment]:
        """Every deployment of the repo, newest first (two per train: staging, then production)."""
        out = []
        for train in range(self.deployment_trains(repo) - 1, -1, -1):
            out.extend(reversed(self._train(repo, train)))
        return out

    def deployment(self, repo: Repo, deployment_id: int) -> Deployment | None:
        train, env = divmod(deployment_id - repo.repo_id * 10_000, 2)
        if not 0 <= train < self.deployment_trains(repo) or deployment_id < repo.repo_id * 10_000:
            return None
        return self._train(repo, train)[env]

    def _train_time(self, repo: Repo, train: int) -> datetime:
        """When a train's staging deployment starts (production follows two hours later)."""
        jitter = rng(self.seed, "train", repo.index, train).uniform(-6, 6)
        return ORG_START + timedelta(days=self.scale.deploy_interval_days * (train + 0.5), hours=jitter)

    def incident_cause(self, number: int) -> tuple[Repo, int]:
        """(repo, train) of the failed production deployment that OPS incident ``number``
        follows. Production fails on every train ``t`` with ``t % 7 == 3``."""
        repo = self.repos[number % len(self.repos)]
        failures = max(1, (self.deployment_trains(repo) - 3 + 6) // 7)
        return repo, 7 * ((number // len(self.repos)) % failures) + 3

    @functools.lru_cache(maxsize=4096)
    def _train(self, repo: Repo, train: int) -> tuple[Deployment, Deployment]:
        at = self._train_time(repo, train)
        sha = self.commit_on_branch_before(repo, at)
        out = []
        for env_index, env in enumerate(("staging", "production")):
            started = at + timedelta(hours=2 * env_index)
            # Production fails for every 7th train, staging every 11th: incidents follow failures.
            failed = (train % 7 == 3) if env == "production" else (train % 11 == 5)
            final = "failure" if failed else ("error" if train % 13 == 12 and env == "staging"
                                              else "success")
            dep_id = repo.repo_id * 10_000 + train * 2 + env_index
            statuses = tuple(
                DeploymentStatus(dep_id * 10 + s, state, started + timedelta(minutes=4 * s + 1),
                                 f"Deployment {state}")
                for s, state in enumerate(("queued", "in_progress", final)))
            out.append(Deployment(repo, dep_id, train, env, sha, "main", self.ci_bot, started, statuses))
        return out[0], out[1]

    def releases(self, repo: Repo) -> list[Release]:
        """A release (and tag) for every successful production deployment, newest first."""
        out = []
        for train in range(self.deployment_trains(repo) - 1, -1, -1):
            prod = self._train(repo, train)[1]
            if prod.outcome == "success":
                releaser = self.humans[(train + repo.index) % len(self.humans)]
                out.append(Release(repo, prod.deployment_id, f"v1.{train}.0", prod.sha, releaser,
                                   prod.created_at - timedelta(minutes=30), prod.created_at))
        return out

    def failed_production_deployments(self) -> list[Deployment]:
        return [d for repo in self.repos for train in range(self.deployment_trains(repo))
                for d in self._train(repo, train)[1:] if d.outcome == "failure"]

    def workflow_runs(self, repo: Repo) -> tuple[WorkflowRun, ...]:
        """CI runs: one per PR head (pull_request) and one per merge (push), newest first."""
        return self._workflow_runs(repo, self.version)

    def workflow_run(self, repo: Repo, run_id: int) -> WorkflowRun | None:
        return self._workflow_runs_by_id(repo, self.version).get(run_id)

    # Every page of a run listing and every pipeline detail asks for these; built once per repo
    # and version (a few repositories at a time, as connectors walk them).
    @functools.lru_cache(maxsize=16)
    def _workflow_runs_by_id(self, repo: Repo, version: int) -> dict[int, WorkflowRun]:
        return {run.run_id: run for run in self._workflow_runs(repo, version)}

    @functools.lru_cache(maxsize=16)
    def _workflow_runs(self, repo: Repo, _version: int) -> tuple[WorkflowRun, ...]:
        runs = []
        for k in range(1, self.item_count(repo) + 1):
            pr = self.pull_request(repo, k)
            if pr is None:
                continue
            gen = rng(self.seed, "run", repo.index, k)
            conclusion = ("success", "success", "failure", "success", "skipped", "cancelled",
                          "success")[k % 7]
            start = pr.created_at + timedelta(minutes=2)
            status = "completed" if pr.state == "closed" or k % 5 else "in_progress"
            runs.append(WorkflowRun(
                repo, repo.repo_id * 100_000 + k * 10, "CI", "pull_request", pr.head_ref, pr.head_sha,
                status, conclusion if status == "completed" else None, pr.author, 2 * k,
                start, start + timedelta(minutes=gen.uniform(3, 25)), k))
            if pr.merged_at:
                start = pr.merged_at + timedelta(minutes=1)
                runs.append(WorkflowRun(
                    repo, repo.repo_id * 100_000 + k * 10 + 1, "CI", "push", "main",
                    pr.merge_commit_sha or pr.head_sha, "completed",
                    "failure" if k % 9 == 4 else "success", pr.merged_by or pr.author,
                    2 * k + 1, start, start + timedelta(minutes=gen.uniform(3, 25)), None))
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return tuple(runs)

    # -- Jira -------------------------------------------------------------------------------

    def jira_issue_count(self, project: JiraProject) -> int:
        return project.issues + self._mut.added_count.get(("jira", project.index), 0)

    def jira_issue(self, project: JiraProject, number: int) -> JiraIssue | None:
        if not 1 <= number <= self.jira_issue_count(project):
            return None
        if self._is_deleted(("jira", project.index, number)):
            return None
        issue = self._jira_issue_base(project, number, self._added_at("jira", project.index, number))
        return self._with_touch(issue, ("jira", project.index, number), "updated")

    def jira_issue_by_key(self, key: str) -> JiraIssue | None:
        try:
            project, number = self._jira_key(key)
        except KeyError:
            return None
        return self.jira_issue(project, number)

    def jira_created(self, project: JiraProject, number: int) -> datetime:
        """Creation time alone (cheap: searches filter and sort on it without building issues)."""
        added = self._added_at("jira", project.index, number)
        if added is not None:
            return added
        if self.jira_issue_type(project, number) == "Incident":
            repo, train = self.incident_cause(number)
            delay = rng(self.seed, "incident", number).uniform(10, 50)
            return self._train_time(repo, train) + timedelta(hours=2, minutes=delay)
        span = (ORG_NOW - ORG_START).total_seconds() - 2 * 86400
        jitter = rng(self.seed, "jira-created", project.index, number).uniform(0.05, 0.9)
        return ORG_START + timedelta(seconds=span * (number - 1 + jitter) / project.issues)

    def jira_issue_type(self, project: JiraProject, number: int) -> str:
        if self._added_at("jira", project.index, number) is not None:
            return "Task" if project.is_ops else "Story"
        types = OPS_TYPES if project.is_ops else DELIVERY_TYPES
        return types[(number - 1) % len(types)]

    @functools.lru_cache(maxsize=4096)
    def _jira_issue_base(self, project: JiraProject, number: int,
                         added_at: datetime | None) -> JiraIssue:
        gen = rng(self.seed, "jira", project.index, number)
        created = self.jira_created(project, number)
        issue_type = self.jira_issue_type(project, number)
        reporter = self._author_for(gen)
        assignee = None if number % 9 == 0 else self._author_for(gen)
        if number % 23 == 7:
            assignee = self.former
        base = f"{gen.choice(TITLE_VERBS)} {gen.choice(TITLE_OBJECTS)}"
        if issue_type == "Incident":
            repo, train = self.incident_cause(number)
            base = f"Incident: {repo.name} v1.{train}.0 production deploy failed"
        elif issue_type == "Epic":
            base = f"Epic: {gen.choice(TITLE_OBJECTS)}"
        decoration = TITLE_DECORATIONS[(number + project.index) % len(TITLE_DECORATIONS)]
        summary = self.decorated_title(base, decoration, self.humans[number % len(self.humans)],
                                       "jira", project.index, number)
        # Workflow walk, with back-flow (In Review -> In Progress) for every 4th issue.
        path = ["To Do", "In Progress", "In Review", "Done"]
        if number % 4 == 2:
            path = ["To Do", "In Progress", "In Review", "In Progress", "In Review", "Done"]
        steps = len(path) - 1
        if added_at is None:
            steps = min(steps, int((ORG_NOW - created).total_seconds() // (3600 * 30)))
            if number % 6 == 5:
                steps = min(steps, 1 + number % 2)
        else:
            steps = 0
        histories = []
        at = created
        actor = assignee or reporter
        sprints: tuple[Sprint, ...] = ()
        if not project.is_ops and issue_type != "Epic" and added_at is None:
            board = self.sprints(project.board_id)
            idx = min(len(board) - 1, max(0, int((created - ORG_START).days // SPRINT_DAYS)))
            if number % 3 == 0:  # added scope: put into the running sprint after it started
                chosen = board[idx]
                set_at = created + timedelta(hours=1)
            else:  # committed scope: planned into the next sprint before it starts
                chosen = board[min(idx + 1, len(board) - 1)]
                set_at = min(created + timedelta(hours=1), chosen.start - timedelta(hours=1))
                set_at = max(set_at, created)
            sprints = (chosen,)
            histories.append(History(
                str(stable_int(self.seed, "hist", project.index, number, "sprint") % 10**8), actor,
                set_at, (ChangeItem("Sprint", "customfield_10020", None, None, str(chosen.sprint_id),
                                    chosen.name),)))
            at = max(at, set_at)
        for s in range(steps):
            at = at + timedelta(hours=gen.uniform(2, 60))
            if at >= ORG_NOW:
                break
            frm, to = path[s], path[s + 1]
            histories.append(History(
                str(stable_int(self.seed, "hist", project.index, number, s) % 10**8), actor, at,
                (ChangeItem("status", "status", JIRA_STATUSES[frm][0], frm, JIRA_STATUSES[to][0], to),)))
            if s == 0 and number % 5 == 1:
                histories.append(History(
                    str(stable_int(self.seed, "hist", project.index, number, "assign") % 10**8), actor,
                    at, (ChangeItem("assignee", "assignee", None, None, actor.jira_account_id,
                                    actor.jira_display_name),)))
        status_changes = [h for h in histories if h.items[0].field == "status"]
        status = status_changes[-1].items[0].to_string if status_changes else "To Do"
        comments = tuple(
            Comment(stable_int(self.seed, "jcomment", project.index, number, j) % 10**6,
                    self._author_for(gen), f"Update: {self.canary('jira-comment', project.index, number, j)}",
                    created + timedelta(hours=5 * (j + 1)), created + timedelta(hours=5 * (j + 1)))
            for j in range(gen.randrange(0, 3)))
        updated = max([created, *(h.created for h in histories), *(c.updated_at for c in comments)])
        parent = None
        if not project.is_ops and issue_type != "Epic":
            parent = number - (number - 1) % len(DELIVERY_TYPES)
        points = None if issue_type in ("Epic", "Incident") else float((1, 2, 3, 5, 8)[number % 5])
        return JiraIssue(
            project=project, number=number,
            issue_id=str(10000 + project.index * 1_000_000 + number), issue_type=issue_type,
            summary=summary,
            description=f"Context and acceptance criteria. {self.canary('jira-description', project.index, number)}",
            status=status, reporter=reporter, assignee=assignee, created=created, updated=updated,
            resolution_date=status_changes[-1].created if status == "Done" else None,
            priority=("Medium", "High", "Low", "Highest")[number % 4] if issue_type != "Incident" else "Highest",
            labels=("incident", "sev2") if issue_type == "Incident" else (),
            story_points=points, parent_number=parent, sprints=sprints,
            histories=tuple(histories), comments=comments)

    def jira_updated_index(self, project: JiraProject) -> tuple[tuple[datetime, int], ...]:
        return self._jira_index(project, self.version)

    @functools.lru_cache(maxsize=128)
    def _jira_index(self, project: JiraProject, _version: int) -> tuple[tuple[datetime, int], ...]:
        rows = []
        for k in range(1, self.jira_issue_count(project) + 1):
            issue = self.jira_issue(project, k)
            if issue is not None:
                rows.append((issue.updated, k))
        return tuple(rows)

    # -- Slack ------------------------------------------------------------------------------

    def message_count(self, channel: Channel) -> int:
        return channel.messages + self._mut.added_count.get(("slack", channel.index), 0)

    def message(self, channel: Channel, index: int) -> Message:
        return self._message(channel, index, 0, self._added_at("slack", channel.index, index))

    def message_exists(self, channel: Channel, index: int) -> bool:
        return (1 <= index <= self.message_count(channel)
                and not self._is_deleted(("slack", channel.index, index)))

    def replies(self, channel: Channel, index: int) -> list[Message]:
        parent = self.message(channel, index)
        return [parent] + [self._message(channel, index, j, None)
                           for j in range(1, parent.reply_count + 1)]

    def message_times(self, channel: Channel) -> tuple[str, ...]:
        """The ts of every top-level message (deleted ones included), oldest first."""
        return self._message_times(channel, self.message_count(channel))

    def message_by_ts(self, channel: Channel, ts: str) -> int | None:
        """Index of the top-level message with this ts (messages are in time order)."""
        times = self.message_times(channel)
        i = bisect_right(times, ts) - 1
        if i >= 0 and times[i] == ts and self.message_exists(channel, i + 1):
            return i + 1
        return None

    @functools.lru_cache(maxsize=64)
    def _message_times(self, channel: Channel, count: int) -> tuple[str, ...]:
        return tuple(self.message(channel, k).ts for k in range(1, count + 1))

    @functools.lru_cache(maxsize=8192)
    def _message(self, channel: Channel, index: int, reply: int, added_at: datetime | None) -> Message:
        gen = rng(self.seed, "msg", channel.index, index, reply)
        span = (ORG_NOW - ORG_START).total_seconds() - 86400
        base_at = added_at or ORG_START + timedelta(
            seconds=span * (index - 1 + gen.uniform(0.05, 0.5)) / channel.messages)
        at = base_at + timedelta(minutes=7 * reply)
        is_bot = channel.name == "deploys" and index % 2 == 0 and reply == 0
        author = self.ci_bot if is_bot else self._author_for(gen)
        unique = stable_int(self.seed, "ts", channel.index, index, reply)
        ts = slack_ts(at, unique)
        if channel.is_im:
            author = channel.creator if index % 2 else channel.peer
            text = f"Between us: {self.canary('direct-message', channel.index, index, reply)}"
        elif channel.is_private:
            text = f"Confidential: {self.canary('private-message', channel.index, index, reply)}"
        elif is_bot:
            text = f"Deployed {self.repos[index % len(self.repos)].name} to production :rocket:"
        else:
            decoration = TITLE_DECORATIONS[(index + reply + channel.index) % len(TITLE_DECORATIONS)]
            pii_index = None
            if channel.index == 0 and reply == 0 and index <= len(self.pii_catalogue):
                # The first messages of #general paste one of each forbidden value, so every
                # kind is planted at every scale (an escalation pasted into the wrong channel).
                decoration, pii_index = "forbidden_pii", index - 1
            mention = self.humans[(index + 3) % len(self.humans)]
            base = f"{gen.choice(('Heads up', 'FYI', 'Question', 'Update'))}: {gen.choice(TITLE_OBJECTS)}"
            text = self.decorated_title(base, decoration, mention, "slack", channel.index, index, reply,
                                        pii_index=pii_index)
            if index % 4 == 1:
                text += f" <@{mention.slack_id}>"
        thread_parent = reply == 0 and index % 5 == 2 and added_at is None and not channel.is_im
        reply_count = 1 + index % 3 if thread_parent else 0
        reactions = ()
        if index % 3 == 0 and reply == 0 and not channel.is_im:
            reactions = (Reaction(REACTIONS[index % len(REACTIONS)],
                                  tuple(self.humans[(index + j) % len(self.humans)] for j in range(1 + index % 3))),)
        parent_ts = None
        if reply:
            parent_ts = self._message(channel, index, 0, None).ts
        elif thread_parent:
            parent_ts = ts
        return Message(channel, index, reply, ts, at, author, text, reply_count, reactions,
                       parent_ts, is_bot)

    # -- canaries and PII -------------------------------------------------------------------

    def canaries(self) -> list[str]:
        """Every canary the org serves. Each starts with ``CANARY_PREFIX``; scanning for the
        prefix finds them all, which is the practical check at ``large`` scale."""
        found: list[str] = []
        for repo in (*self.repos, *self.gitlab_projects):
            for k in range(1, self.item_count(repo) + 1):
                pr = self.pull_request(repo, k)
                if pr is not None:
                    found.append(pr.body)
                    found.extend(r.body for r in pr.reviews if r.body)
                    found.extend(c.body for c in pr.comments)
                    for c in (*pr.commits, *pr.landed):
                        found.append(c.message.split("\n\n", 1)[1])
                        found.extend(f.patch for f in c.files)
                issue = self.issue(repo, k)
                if issue is not None:
                    found.append(issue.body)
                    found.extend(c.body for c in issue.comments)
        for project in self.jira_projects:
            for k in range(1, self.jira_issue_count(project) + 1):
                issue = self.jira_issue(project, k)
                if issue is not None:
                    found.append(issue.description)
                    found.extend(c.body for c in issue.comments)
        for channel in (*self.channels, *self.direct_messages):
            if channel.is_private:
                for k in range(1, self.message_count(channel) + 1):
                    found.extend(m.text for m in self.replies(channel, k))
        return sorted({token for text in found for token in _canary_tokens(text)})

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
