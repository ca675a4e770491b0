"""Forgetting a person in the organization's settings file (``config/<slug>.yaml``).

The operator's settings may name the person: as a team member, in an identity merge or split
("github:login", "email:someone@example.com", "jira:<accountId>"). A deletion removes those
references too. The file is rewritten in place with the standard header: the operator's own
comments are not kept, since a copy or a comment could keep the identifier.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from resources.retention.subjects import PersonIdentifiers, normalize_identifier, text_tokens
from resources.storage.org_config import (
    SETTINGS_FILE_HEADER,
    config_path,
    load_org_config,
)


def names_person(reference: str, person: PersonIdentifiers) -> bool:
    """Whether a "system:key" reference points at the person (by account, login or email)."""
    system, _, key = normalize_identifier(reference).partition(":")
    if not key:
        return False
    if system == "email":
        return key in person.emails
    by_account = {normalize_identifier(k) for k in person.keys(system)}
    return key in by_account or key in person.logins or key in person.emails


def _without(references: list, person: PersonIdentifiers) -> list:
    return [r for r in references if not (isinstance(r, str) and names_person(r, person))]


def forget_references(data: dict, person: PersonIdentifiers) -> list[str]:
    """Remove the person's references from parsed settings ``data`` (changed in place);
    returns the settings changed, e.g. ``["teams.Payments"]`` (team names, never people)."""
    changed = []
    for team, members in (data.get("teams") or {}).items():
        kept = _without(members, person)
        if len(kept) != len(members):
            data["teams"][team] = kept
            changed.append(f"teams.{team}")
    merges = data.get("identity_merges") or []
    kept_merges = [group for group in (_without(g, person) for g in merges) if len(group) > 1]
    if kept_merges != merges:
        data["identity_merges"] = kept_merges
        changed.append("identity_merges")
    splits = data.get("identity_splits") or []
    if _without(splits, person) != splits:
        data["identity_splits"] = _without(splits, person)
        changed.append("identity_splits")
    return changed


def forget_in_settings_file(sieve_home: Path, slug: str, person: PersonIdentifiers) -> list[str]:
    """Remove the person from ``slug``'s settings file, if it names them; returns what changed.
    A malformed file stops the deletion with the file's own error (nothing half-rewritten)."""
    path = config_path(sieve_home, slug)
    if not path.exists():
        return []
    load_org_config(sieve_home, slug)  # validates: raises OrgConfigError naming the problem
    data = yaml.safe_load(path.read_text()) or {}
    changed = forget_references(data, person)
    if changed:
        # Same file, overwritten: no second copy of the old contents is left beside it.
        path.write_text(SETTINGS_FILE_HEADER + yaml.safe_dump(data, sort_keys=False,
                                                              allow_unicode=True))
    return changed


def settings_file_names(sieve_home: Path, slug: str, person: PersonIdentifiers) -> bool:
    """Whether the settings file still names the person anywhere (a pattern, a comment the
    operator wrote) — the standard header's made-up examples aside."""
    path = config_path(sieve_home, slug)
    if not path.exists():
        return False
    text = path.read_text().removeprefix(SETTINGS_FILE_HEADER)
    return bool(text_tokens(text) & person.scannable())
