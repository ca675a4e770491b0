"""Forgetting one person: every row about them, in every metadata table and derived table.

Where a person appears is known from the identity model (``resources.sync.identities``): the user
directories, and every person reference the schema's naming conventions reveal. For each table:

- rows that are the person's own contribution (authored pull requests, merge requests, commits
  and issues; reviews, approvals, messages; their directory entries) are deleted;
- other references to them (merged by, committed by, assigned, deployed, triggered, led) are
  cleared, so team metrics that do not involve them stay as they were;
- any other text or list column still holding one of their identifiers (a mention, a login in
  an assignee list) has it replaced by ``[removed]``.

With ``person_deletion_mode: delink`` their own rows are kept too, with every identifier
cleared: nothing left links back to them. Identity rows are deleted in both modes; derived
tables (staging, intermediate, marts) lose their rows by person_id, or have it cleared.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import duckdb

from resources.retention.subjects import PersonIdentifiers, normalize_identifier
from resources.sources import ENTITIES, USER_DIRECTORIES
from resources.sources.allow_list import PersonColumns
from resources.storage.metadata_store import DATABASE_ALIAS, METADATA_SCHEMA, quote_identifier
from resources.sync.identities import person_references

REMOVED = "[removed]"
OWNER_ROLES = ("author", "reviewer", "approver", "reporter")
OWNER_REFERENCES = {("slack_messages", "user_id")}
# Team events (releases feed deployment metrics): references to the person are cleared only.
TEAM_EVENT_TABLES = {"github_releases"}
DIRECTORY_TABLES = {d.table for d in USER_DIRECTORIES}
IDENTITY_TABLES = ("identity_accounts", "people")
# Schemas whose tables are derived by dbt from the metadata.
DERIVED_SCHEMAS = ("staging", "intermediate", "marts")
_SQL_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def reference_columns(expression: str | None, table_columns: set[str]) -> list[str]:
    """The table columns an identity expression reads (``coalesce(email, public_email)``)."""
    if not expression:
        return []
    return [w for w in _SQL_WORD.findall(expression) if w in table_columns]


@dataclass(frozen=True)
class TablePlan:
    """How one table refers to people: its own rows (``owners``), other references, and the
    remaining free-text and list columns to clean."""

    table: str
    owners: tuple[PersonColumns, ...]
    others: tuple[PersonColumns, ...]
    text_columns: tuple[str, ...]
    list_columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    all_columns: frozenset[str]

    @property
    def is_directory(self) -> bool:
        return self.table in DIRECTORY_TABLES

    def clearable_columns(self, ref: PersonColumns) -> list[str]:
        columns = []
        for expression in ref.columns():
            columns.extend(reference_columns(expression, set(self.all_columns)))
        return [c for c in dict.fromkeys(columns) if c not in self.key_columns]


def _is_owner(ref: PersonColumns) -> bool:
    if ref.table in DIRECTORY_TABLES or (ref.table, ref.key) in OWNER_REFERENCES:
        return True
    if ref.table in TEAM_EVENT_TABLES:
        return False
    return any(ref.key.startswith(f"{role}_") for role in OWNER_ROLES)


def table_plans() -> dict[str, TablePlan]:
    references: dict[str, list[PersonColumns]] = {}
    for ref in person_references(ENTITIES.values()):
        references.setdefault(ref.table, []).append(ref)
    plans = {}
    for declared in ENTITIES.values():
        refs = references.get(declared.table, [])
        names = set(declared.column_names)
        referenced = {c for ref in refs for e in ref.columns() for c in reference_columns(e, names)}
        keys = set(declared.primary_key)
        plans[declared.table] = TablePlan(
            table=declared.table,
            owners=tuple(r for r in refs if _is_owner(r)),
            others=tuple(r for r in refs if not _is_owner(r)),
            text_columns=tuple(c.name for c in declared.columns if c.type == "VARCHAR"
                               and c.name not in referenced and c.name not in keys),
            list_columns=tuple(c.name for c in declared.columns if c.type == "VARCHAR[]"),
            key_columns=tuple(declared.primary_key),
            all_columns=frozenset(names),
        )
    return plans


# --- resolving a subject --------------------------------------------------------------------

def existing_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND "
        "table_schema = ? AND table_type = 'BASE TABLE'", [DATABASE_ALIAS, schema]).fetchall()}


def _in_list(values) -> tuple[str, list]:
    values = sorted(values)
    return "(" + ", ".join("?" for _ in values) + ")", values


def resolve_person(connection: duckdb.DuckDBPyConnection, kind: str,
                   subject: str) -> PersonIdentifiers:
    """Every identifier of the person an email, login or person id names: their linked
    identities, and the accounts the metadata shows under that email or login."""
    subject = normalize_identifier(subject)
    found = PersonIdentifiers()
    tables = existing_tables(connection, METADATA_SCHEMA)
    if {"identity_accounts", "people"} <= tables:
        condition = {"email": "lower(email) = $subject OR "
                              "(system = 'email' AND account_key = $subject)",
                     "login": "lower(login) = $subject",
                     "person": "person_id = $subject"}[kind]
        person_ids = {r[0] for r in connection.execute(
            f"SELECT DISTINCT person_id FROM metadata.identity_accounts WHERE {condition}",
            {"subject": subject}).fetchall()}
        found.person_ids |= person_ids
        if person_ids:
            placeholders, values = _in_list(person_ids)
            for system, key, login, email in connection.execute(
                    "SELECT system, account_key, login, email FROM "
                    f"metadata.identity_accounts WHERE person_id IN {placeholders}",
                    values).fetchall():
                if system == "email":
                    found.emails.add(normalize_identifier(key))
                else:
                    found.add_account(system, key)
                if login:
                    found.logins.add(normalize_identifier(login))
                if email:
                    found.emails.add(normalize_identifier(email))
            found.emails |= {normalize_identifier(r[0]) for r in connection.execute(
                f"SELECT email FROM metadata.people WHERE person_id IN {placeholders} "
                "AND email IS NOT NULL", values).fetchall()}
    {"email": found.emails, "login": found.logins, "person": found.person_ids}[kind].add(subject)
    _accounts_from_references(connection, tables, found)
    return found


def _accounts_from_references(connection, tables: set[str], found: PersonIdentifiers) -> None:
    """Accounts whose login or email is one of the person's, straight from the metadata
    (identities may not be built yet, or may be older than the last sync)."""
    if not (found.logins or found.emails):
        return
    by_name = PersonIdentifiers(logins=found.logins, emails=found.emails)
    for ref in person_references(ENTITIES.values()):
        if ref.table not in tables or ref.system == "email":
            continue
        condition, values = reference_match(ref, by_name)
        if condition == "FALSE":
            continue
        for (key,) in connection.execute(
                f"SELECT DISTINCT CAST({ref.key} AS VARCHAR) FROM metadata.{ref.table} "
                f"WHERE {condition}", values).fetchall():
            found.add_account(ref.system, key)


# --- matching and removing ------------------------------------------------------------------

def reference_match(ref: PersonColumns, person: PersonIdentifiers) -> tuple[str, list]:
    """A SQL condition true when this reference points at the person (or FALSE)."""
    conditions, values = [], []
    if ref.system == "email":
        if person.emails:
            placeholders, emails = _in_list(person.emails)
            conditions.append(f"lower({ref.key}) IN {placeholders}")
            values += emails
    else:
        if person.keys(ref.system):
            placeholders, keys = _in_list(person.keys(ref.system))
            conditions.append(f"CAST({ref.key} AS VARCHAR) IN {placeholders}")
            values += keys
        if ref.login and person.logins:
            placeholders, logins = _in_list(person.logins)
            conditions.append(f"lower({ref.login}) IN {placeholders}")
            values += logins
        if ref.email and person.emails:
            placeholders, emails = _in_list(person.emails)
            conditions.append(f"lower({ref.email}) IN {placeholders}")
            values += emails
    return ("(" + " OR ".join(conditions) + ")" if conditions else "FALSE"), values


def text_pattern(identifiers: set[str]) -> str | None:
    """An RE2 pattern matching any identifier as a whole token (case-insensitive), with the
    character before and after captured so a replacement keeps them. A mention sign may come
    before (``@login``, ``<@U123>``); a domain may not continue after (``login.example``)."""
    if not identifiers:
        return None
    alternatives = "|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True))
    return rf"(?i)(^|[^a-z0-9_.+-])({alternatives})($|[^a-z0-9_.@-]|\.[^a-z0-9]|\.$)"


def _redact_expression(column: str) -> str:
    """Two passes: adjacent mentions share a separator the first pass consumed."""
    once = f"regexp_replace({column}, ?, '\\1{REMOVED}\\3', 'g')"
    return f"regexp_replace({once}, ?, '\\1{REMOVED}\\3', 'g')"


def mentions_sql(expression: str, identifiers: set[str]) -> tuple[str, list]:
    """SQL true where the text holds one of the identifiers as a whole token: a cheap
    substring test first, the token pattern only on the rows it lets through."""
    ordered = sorted(identifiers)
    contains = " OR ".join(f"contains(lower({expression}), ?)" for _ in ordered)
    return (f"(({contains}) AND regexp_matches({expression}, ?))",
            [*ordered, text_pattern(identifiers)])


def redact_text_columns(connection, qualified: str, text_columns, list_columns,
                        identifiers: set[str]) -> int:
    pattern = text_pattern(identifiers)
    changed = 0
    for column in text_columns:
        name = quote_identifier(column)
        condition, values = mentions_sql(name, identifiers)
        changed += connection.execute(
            f"UPDATE {qualified} SET {name} = {_redact_expression(name)} WHERE {condition}",
            [pattern, pattern, *values]).fetchone()[0]
    for column in list_columns:
        name = quote_identifier(column)
        condition, values = mentions_sql(f"array_to_string({name}, ' ')", identifiers)
        changed += connection.execute(
            f"UPDATE {qualified} SET {name} = list_transform({name}, x -> "
            f"{_redact_expression('x')}) WHERE {condition}",
            [pattern, pattern, *values]).fetchone()[0]
    return changed


def forget_in_metadata(connection, person: PersonIdentifiers, *, mode: str) -> Counter:
    """Delete or de-link the person in every metadata table; returns rows touched per table
    (``table`` deleted, ``table.cleared`` de-linked, ``table.redacted`` text cleaned)."""
    counts: Counter = Counter()
    tables = existing_tables(connection, METADATA_SCHEMA)
    identifiers = person.scannable()
    for table, plan in table_plans().items():
        if table not in tables:
            continue
        qualified = f"{METADATA_SCHEMA}.{quote_identifier(table)}"
        # A reference in the row's natural key cannot be cleared and keep the row: the row goes.
        keyed = tuple(r for r in plan.owners + plan.others if r.key in plan.key_columns)
        owned = plan.owners if mode == "delete" or plan.is_directory else ()
        deleting = tuple(dict.fromkeys(owned + keyed))
        clearing = tuple(r for r in plan.owners + plan.others if r not in deleting)
        if deleting:
            matches = [reference_match(ref, person) for ref in deleting]
            condition = " OR ".join(m[0] for m in matches)
            values = [v for m in matches for v in m[1]]
            counts[table] += connection.execute(
                f"DELETE FROM {qualified} WHERE {condition}", values).fetchone()[0]
        for ref in clearing:
            condition, values = reference_match(ref, person)
            columns = plan.clearable_columns(ref)
            if condition == "FALSE" or not columns:
                continue
            assignments = ", ".join(f"{quote_identifier(c)} = NULL" for c in columns)
            counts[f"{table}.cleared"] += connection.execute(
                f"UPDATE {qualified} SET {assignments} WHERE {condition}", values).fetchone()[0]
        if identifiers:
            counts[f"{table}.redacted"] += redact_text_columns(
                connection, qualified, plan.text_columns, plan.list_columns, identifiers)
    if person.person_ids:
        placeholders, values = _in_list(person.person_ids)
        for table in IDENTITY_TABLES:
            if table in tables:
                counts[table] += connection.execute(
                    f"DELETE FROM metadata.{table} WHERE person_id IN {placeholders}",
                    values).fetchone()[0]
    return +counts


def table_columns(connection, schema: str, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [DATABASE_ALIAS, schema, table]).fetchall()]


def is_person_column(name: str) -> bool:
    return name == "person_id" or name.endswith("_person_id")


def forget_in_derived(connection, person: PersonIdentifiers, *, mode: str) -> Counter:
    """dbt-built tables carry person_id, never emails or logins: their rows go (or lose the
    person_id), and any identifier left in their text is redacted."""
    counts: Counter = Counter()
    identifiers = person.scannable()
    for schema in DERIVED_SCHEMAS:
        for table in sorted(existing_tables(connection, schema)):
            columns = table_columns(connection, schema, table)
            qualified = f"{schema}.{quote_identifier(table)}"
            person_columns = [c for c, _ in columns if is_person_column(c)]
            if person_columns and person.person_ids:
                placeholders, values = _in_list(person.person_ids)
                condition = " OR ".join(f"{quote_identifier(c)} IN {placeholders}"
                                        for c in person_columns)
                values = values * len(person_columns)
                if mode == "delete":
                    counts[f"{schema}.{table}"] += connection.execute(
                        f"DELETE FROM {qualified} WHERE {condition}", values).fetchone()[0]
                else:
                    for column in person_columns:
                        name = quote_identifier(column)
                        counts[f"{schema}.{table}.cleared"] += connection.execute(
                            f"UPDATE {qualified} SET {name} = NULL WHERE {name} IN "
                            f"{placeholders}", values[: len(person.person_ids)]).fetchone()[0]
            if identifiers:
                counts[f"{schema}.{table}.redacted"] += redact_text_columns(
                    connection, qualified,
                    [c for c, t in columns if t == "VARCHAR" and not is_person_column(c)],
                    [c for c, t in columns if t == "VARCHAR[]"], identifiers)
    return +counts
