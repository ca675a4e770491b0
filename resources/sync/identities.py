"""One pseudonymous ``person_id`` per human across GitHub, GitLab, Jira, Slack and git.

Accounts are gathered from the metadata tables (user tables and every person reference in the
facts), then linked — union-find — by:

- the same email address (case-insensitive) on any two accounts;
- a commit that carries both an email and a platform account id (GitHub's commit author, the
  Atlassian account Bitbucket maps a commit to);
- a GitHub no-reply address (``123+login@users.noreply.github.com``) to that GitHub login;
- the same handle on GitHub and GitLab;
- the operator's overrides: ``identity_merges`` join references, ``identity_splits`` isolate a
  reference (e.g. a shared inbox) from every automatic link.

A person's id is an HMAC of the cluster's smallest account reference under the organization's
own data key: stable across runs (so reruns converge to identical tables), meaningless outside
the organization, and shredded with its key. Bots are flagged from what each source says (GitHub
type Bot, Slack is_bot, Jira app accounts, GitLab bot users) and the org's bot patterns.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from resources.sources import SOURCES, USER_DIRECTORIES
from resources.sources.allow_list import PersonColumns
from resources.storage.metadata_store import TableSpec

NOREPLY = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)

IDENTITY_ACCOUNTS = TableSpec(
    name="identity_accounts",
    columns=(("system", "VARCHAR"), ("account_key", "VARCHAR"), ("person_id", "VARCHAR"),
             ("login", "VARCHAR"), ("email", "VARCHAR"), ("display_name", "VARCHAR"),
             ("is_bot", "BOOLEAN")),
    key=("system", "account_key"),
)
PEOPLE = TableSpec(
    name="people",
    columns=(("person_id", "VARCHAR"), ("display_name", "VARCHAR"), ("email", "VARCHAR"),
             ("team", "VARCHAR"), ("is_bot", "BOOLEAN"), ("account_count", "INTEGER"),
             ("systems", "VARCHAR[]")),
    key=("person_id",),
)


@dataclass
class Account:
    """One account in one system. ``key`` is the stable id in that system: GitHub/GitLab
    numeric id, Jira accountId, Slack user id, or the lowercased address for ``email``."""

    system: str
    key: str
    login: str | None = None
    email: str | None = None
    display_name: str | None = None
    is_bot: bool = False
    # Other accounts this one is known to be (e.g. a commit email and its GitHub author id).
    same_as: set[tuple[str, str]] = field(default_factory=set)

    @property
    def ref(self) -> tuple[str, str]:
        return (self.system, self.key)


def normalize_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.strip().lower()


class AccountBook:
    """Accounts merged by (system, key) as they are gathered from many tables."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}

    def add(self, system: str, key: object, *, login: str | None = None,
            email: str | None = None, display_name: str | None = None,
            is_bot: bool = False) -> Account | None:
        if key is None or key == "":
            return None
        key_text = str(key).lower() if system == "email" else str(key)
        account = self.accounts.get((system, key_text))
        if account is None:
            account = self.accounts[(system, key_text)] = Account(system, key_text)
        account.login = account.login or login
        account.email = account.email or normalize_email(email)
        account.display_name = account.display_name or display_name
        account.is_bot = account.is_bot or bool(is_bot)
        return account

    def add_email(self, email: str | None, display_name: str | None = None) -> Account | None:
        address = normalize_email(email)
        return self.add("email", address, email=address, display_name=display_name) if address else None

    def link(self, first: Account | None, second: Account | None) -> None:
        if first is not None and second is not None and first.ref != second.ref:
            first.same_as.add(second.ref)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, item):
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, first, second) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def resolve_reference(reference: str, accounts: Iterable[Account]) -> list[tuple[str, str]]:
    """Accounts an override reference names: ``github:login``, ``gitlab:username``,
    ``jira:accountId``, ``slack:U123`` or ``slack:handle``, ``email:address``."""
    system, _, value = reference.partition(":")
    value_lower = value.lower()
    matches = []
    for account in accounts:
        if system == "email":
            if account.email == value_lower or (account.system == "email" and account.key == value_lower):
                matches.append(account.ref)
        elif account.system == system and (
                account.key == value or (account.login or "").lower() == value_lower):
            matches.append(account.ref)
    return matches


@dataclass(frozen=True)
class Person:
    person_id: str
    display_name: str | None
    email: str | None
    team: str | None
    is_bot: bool
    accounts: tuple[Account, ...]


def cluster_people(book: AccountBook, *, org_key: str, merges: Iterable[Iterable[str]] = (),
                   splits: Iterable[str] = (), bot_patterns: Iterable[str] = (),
                   teams: dict[str, Iterable[str]] | None = None) -> list[Person]:
    accounts = list(book.accounts.values())
    isolated = {ref for reference in splits for ref in resolve_reference(reference, accounts)}
    union = _UnionFind()
    for account in accounts:
        union.find(account.ref)
    by_email: dict[str, tuple[str, str]] = {}
    by_handle: dict[str, tuple[str, str]] = {}
    github_by_login = {(a.login or "").lower(): a.ref for a in accounts
                       if a.system == "github" and a.login}

    def automatic(first, second) -> None:
        if first not in isolated and second not in isolated:
            union.union(first, second)

    for account in accounts:
        for other in account.same_as:
            automatic(account.ref, other)
        if account.email:
            automatic(account.ref, by_email.setdefault(account.email, account.ref))
            noreply = NOREPLY.match(account.email)
            if noreply and noreply.group(1).lower() in github_by_login:
                automatic(account.ref, github_by_login[noreply.group(1).lower()])
        if account.system in ("github", "gitlab") and account.login:
            automatic(account.ref, by_handle.setdefault(account.login.lower(), account.ref))
    for group in merges:
        refs = [ref for reference in group for ref in resolve_reference(reference, accounts)]
        for ref in refs[1:]:
            union.union(refs[0], ref)

    clusters: dict[tuple[str, str], list[Account]] = {}
    for account in accounts:
        clusters.setdefault(union.find(account.ref), []).append(account)
    compiled_bots = [re.compile(p) for p in bot_patterns]
    team_of = _team_index(teams or {}, accounts)
    people = []
    for members in clusters.values():
        members.sort(key=lambda a: a.ref)
        people.append(_person(members, org_key, compiled_bots, team_of))
    return sorted(people, key=lambda p: p.person_id)


def _team_index(teams: dict[str, Iterable[str]], accounts: list[Account]) -> dict:
    index: dict[tuple[str, str], str] = {}
    for team in sorted(teams):
        for reference in teams[team]:
            for ref in resolve_reference(reference, accounts):
                index.setdefault(ref, team)
    return index


def person_id_for(org_key: str, members: list[Account]) -> str:
    representative = "{}:{}".format(*members[0].ref)
    digest = hmac.new(org_key.encode(), b"sieve-person\n" + representative.encode(), hashlib.sha256)
    return "p_" + digest.hexdigest()[:16]


def _person(members: list[Account], org_key: str, bot_patterns: list[re.Pattern],
            team_of: dict) -> Person:
    def looks_like_bot(account: Account) -> bool:
        names = [n for n in (account.login, account.email, account.display_name) if n]
        return account.is_bot or any(p.search(n) for p in bot_patterns for n in names)

    preferred = sorted(members, key=lambda a: (a.system == "email", a.display_name is None, a.ref))
    emails = sorted({a.email for a in members if a.email and not NOREPLY.match(a.email)})
    team = next((team_of[a.ref] for a in members if a.ref in team_of), None)
    return Person(
        person_id=person_id_for(org_key, members),
        display_name=next((a.display_name for a in preferred if a.display_name), None)
        or next((a.login for a in preferred if a.login), None),
        email=emails[0] if emails else None,
        team=team,
        is_bot=any(looks_like_bot(a) for a in members),
        accounts=tuple(members),
    )


def identity_rows(people: list[Person]) -> tuple[list[dict], list[dict]]:
    accounts, persons = [], []
    for person in people:
        for account in person.accounts:
            accounts.append({"system": account.system, "account_key": account.key,
                             "person_id": person.person_id, "login": account.login,
                             "email": account.email, "display_name": account.display_name,
                             "is_bot": person.is_bot})
        persons.append({"person_id": person.person_id, "display_name": person.display_name,
                        "email": person.email, "team": person.team, "is_bot": person.is_bot,
                        "account_count": len(person.accounts),
                        "systems": sorted({a.system for a in person.accounts})})
    return accounts, persons


# --- where people appear in the metadata ------------------------------------------------------

def person_references(entities) -> list[PersonColumns]:
    """Every person reference in the declared entities, found by the schema's naming
    conventions: ``<p>_id`` + ``<p>_login`` (GitHub), ``<p>_id`` + ``<p>_username`` (GitLab),
    ``<p>_account_id`` (Jira), ``<p>_email`` + ``<p>_name`` (commit identities); plus the user
    directories and Slack's references. Used to gather identities and to forget a person."""
    found = list(USER_DIRECTORIES) + [ref for source in SOURCES.values()
                                      for ref in source.person_references]
    directories = {d.table for d in USER_DIRECTORIES}
    for declared in entities:
        if declared.table in directories:
            continue
        names = set(declared.column_names)
        for name in sorted(names):
            prefix = name[: -len("_id")] if name.endswith("_id") else None
            if prefix == "owner":
                continue  # repositories are owned by organizations, not people
            if prefix and f"{prefix}_login" in names:
                bot = f"{prefix}_type = 'Bot'" if f"{prefix}_type" in names else None
                found.append(PersonColumns(declared.table, "github", name, f"{prefix}_login",
                                           bot=bot))
            elif prefix and f"{prefix}_username" in names:
                found.append(PersonColumns(declared.table, "gitlab", name, f"{prefix}_username"))
            elif name.endswith("_account_id"):
                found.append(PersonColumns(declared.table, "jira", name))
            elif name.endswith("_email"):
                base = name[: -len("_email")]
                found.append(PersonColumns(declared.table, "email", name, email=name,
                                           name=f"{base}_name" if f"{base}_name" in names else None))
    return found


def gather_accounts(connection, references: list[PersonColumns], existing_tables: set[str],
                    schema: str = "metadata") -> AccountBook:
    """Read every account from the tables that exist. Commit identities are linked to the
    platform account of the same row (a GitHub commit's author email and author id)."""
    book = AccountBook()
    for ref in references:
        if ref.table not in existing_tables:
            continue
        select = [ref.key, ref.login or "NULL", ref.email or "NULL", ref.name or "NULL",
                  ref.bot or "false"]
        rows = connection.execute(
            f"SELECT DISTINCT {', '.join(select)} FROM {schema}.{ref.table} "
            f"WHERE {ref.key} IS NOT NULL").fetchall()
        for key, login, email, name, is_bot in rows:
            if ref.system == "email":
                book.add_email(email, name)
            else:
                book.add(ref.system, key, login=login, email=email, display_name=name,
                         is_bot=bool(is_bot))
    for ref in references:
        platform = _platform_twin(ref, references)
        if ref.system != "email" or ref.table not in existing_tables or platform is None:
            continue
        rows = connection.execute(
            f"SELECT DISTINCT {ref.email}, {platform.key} FROM {schema}.{ref.table} "
            f"WHERE {ref.email} IS NOT NULL AND {platform.key} IS NOT NULL").fetchall()
        for email, key in rows:
            book.link(book.add_email(email), book.add(platform.system, key))
    return book


def _platform_twin(email_ref: PersonColumns, references: list[PersonColumns]):
    """The platform account column of the same role in the same table (author ↔ author)."""
    role = email_ref.key[: -len("_email")]
    for ref in references:
        if (ref.table == email_ref.table and ref.system != "email"
                and ref.key in (f"{role}_id", f"{role}_account_id")):
            return ref
    return None
