"""docs/allow-list.md, generated from every registered source's allow-list schema.

``python -m resources.sources.docs > docs/allow-list.md`` regenerates it; a test fails when the
file is stale.
"""

from __future__ import annotations

import sys

from resources.sources import SOURCES
from resources.sources.allow_list import INTEGER_RANGES, MAX_LIST_ITEMS, MAX_TEXT_CHARS, Column


def _describe_source(column: Column) -> str:
    if column.parent_key:
        return f"supplied by the caller (`parent['{column.parent_key}']`)"
    text = f"`{column.source}`"
    if column.transform is not None:
        text += f" → `{column.transform.__name__}`"
    return text


def _caps_markdown() -> list[str]:
    ranges = ", ".join(f"{type_} {low} to {high}" for type_, (low, high) in INTEGER_RANGES.items())
    return [
        "## Caps: what a stored value may be",
        "",
        "An API may send anything; extraction (`resources/sync/normalise.py`) holds every value "
        "to its column's type before it is scrubbed or stored. Each change is counted in the "
        "sync's `records_refused` / `fields_refused` metadata by table, column and reason — "
        "never the value — and the sync goes on.",
        "",
        f"- **Text** (VARCHAR): NUL characters and invalid Unicode (lone surrogates) are "
        f"removed; text longer than {MAX_TEXT_CHARS} characters is cut there (Slack's own "
        "message limit). A number where text is declared is kept as its decimal text.",
        f"- **Integers**: {ranges}. A value outside its column's range, a boolean, or an "
        "object is stored as NULL; integral floats and decimal strings are read as integers.",
        "- **DOUBLE**: finite numbers only; **BOOLEAN**: true/false only; **TIMESTAMP**: an "
        "ISO-8601 (or epoch) value its transform can read, otherwise NULL.",
        f"- **Lists**: at most {MAX_LIST_ITEMS} items (cut there), each held to the item type; "
        "a list with an item of the wrong kind is stored as NULL.",
        "- **Records**: a record that is not a JSON object, or whose natural key does not "
        "survive these rules, is refused whole.",
        "",
    ]


def allow_list_markdown() -> str:
    """The allow-list as Markdown: docs/allow-list.md is this function's output."""
    out = [
        "# Allow-list: what Sieve stores",
        "",
        "Generated from `resources/sources/*/schema.py` by `python -m resources.sources.docs > "
        "docs/allow-list.md`; a test fails when this file is stale. Every field of an API "
        "record that is not listed here is dropped at extraction. Columns marked *scrubbed* "
        "pass the PII scrubber (`resources/security/pii.py`), which replaces phone numbers, IP "
        "addresses, card numbers, national ids, IBANs, dates of birth, street addresses, "
        "passport and driver's licence numbers with typed placeholders such as `[phone]`.",
        "",
        "Every table also has `connection_id` (VARCHAR, first column and first key column), "
        "and timestamps are UTC.",
        "",
        "## Decisions",
        "",
        "- **Commit messages**: not kept, not even the subject line, for GitHub, GitLab and "
        "local git. Subjects are where secrets, customer names and pasted snippets end up; "
        "pull/merge request titles already carry the human description, scrubbed. The git "
        "reader never asks git for the message.",
        "- **Sprint goals**: dropped (free-text planning content); `goal_length` is kept.",
        "- **Version numbers vs IPv4**: a dotted quad such as `1.2.3.4` is scrubbed as an IP "
        "address unless written as a version (`v1.2.3.4`, or right after version/ver/release/"
        "build/firmware). Three-part versions (`1.2.3`) never look like addresses.",
        "- **Identifiers are not scrubbed**: logins, emails, keys, branch refs and enum values "
        "are kept as they are (they join tables); names of people and human-written titles "
        "are scrubbed.",
        "",
        *_caps_markdown(),
    ]
    for source in SOURCES.values():
        for entity_ in source.entities:
            out += [
                f"## `{entity_.table}`",
                "",
                f"Source: {entity_.endpoint}. {entity_.description}",
                "",
                f"Natural key: `{', '.join(entity_.primary_key)}`.",
                "",
                "| column | type | from | scrubbed |",
                "|---|---|---|---|",
            ]
            out += [
                f"| `{c.name}` | {c.type} | {_describe_source(c)} | {'yes' if c.scrub else ''} |"
                for c in entity_.columns
            ]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(allow_list_markdown())
