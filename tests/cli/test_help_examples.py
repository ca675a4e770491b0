"""Every example in every ``--help`` text, and every command of the README's tour, runs.

The examples run in order against one organization, ``acme``, synced from the tiny emulator
org (GitHub and Jira) with its metric tables really built by dbt. What an example needs from
the outside world is stood in for, by these rules:

- ``acme`` and the tour's ``demo`` both name the synced organization; placeholders (``<a
  login from that list>``, ``conn_1a2b3c4d5e6f``) become a real login and connection id.
- Only the ``sieve …`` part of a line runs: ``VAR=value`` prefixes set the environment (the
  token variables get a dummy secret, a ``…WEBHOOK_URL`` the URL of a loopback receiver;
  ``SIEVE_HOME`` stays the test's), and what follows
  ``&&``, ``>``, ``|`` or ``#`` is the shell's, not Sieve's. ``sieve>`` lines are typed into
  the ``sieve shell`` example above them.
- ``sieve connect`` examples run with ``--no-check`` (the check itself is tested against the
  emulators in test_connect_check.py), and a ``--path`` becomes this repository's clone. They
  run late, after ``retention run``: its weekly re-listing would try their made-up hosts.
- Skipped, each covered elsewhere: commands that run the whole pipeline or serve until
  stopped (``sync``, ``demo``, ``ui``, ``emulate``, ``serve``: tests/e2e, tests/ui,
  tests/emulators, tests/analyst/test_serve.py),
  ``make …`` lines, and lines that are not Sieve commands (a DuckDB ``PRAGMA``).
- ``org add acme`` adds ``acme-2`` (acme exists already); an example repeated word for word
  (a group's and its command's) runs once.
- The deletion jobs' dbt rebuild is a no-op here (tests/retention runs it), and the examples
  that end the organization or a connection (``org delete|terminate``, ``disconnect``) run
  last.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from resources.marts.runner import build_org_marts
from resources.sync.engine import rebuild_identities

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SKIPPED_COMMANDS = {"sync", "demo", "ui", "emulate", "serve"}
LAST = (("connect",), ("org", "terminate"), ("org", "delete"), ("disconnect",))
SHELL_OPERATORS = {"&&", "||", ">", ">>", "|", ";", ")"}


@dataclass
class Example:
    where: str
    line: str
    stdin: list[str] = field(default_factory=list)


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``group``, as the words that reach it."""
    context = click.Context(group)
    paths = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        path = (*prefix, name)
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


def help_text(path: tuple[str, ...]) -> str:
    # `connect` takes the organization before its source subcommand.
    words = [*path[:1], "acme", *path[1:]] if path[0] == "connect" and len(path) > 1 else path
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def joined_lines(lines: list[str]) -> list[str]:
    """Lines with shell continuations (a trailing backslash, an open quote) joined."""
    joined, pending = [], ""
    for line in lines:
        pending = f"{pending} {line.strip()}" if pending else line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
        elif pending.count('"') % 2 == 0:
            joined.append(pending)
            pending = ""
    return joined


def examples_in_help(text: str, where: str) -> list[Example]:
    """The lines of the help text's ``Example:``/``Examples:`` block."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*Examples?:", line)]
    if not starts:
        return []
    indent = len(lines[starts[0]]) - len(lines[starts[0]].lstrip())
    block = []
    for line in lines[starts[0] + 1:]:
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return attach_shell_input([Example(where, line) for line in joined_lines(block)])


def attach_shell_input(examples: list[Example]) -> list[Example]:
    kept: list[Example] = []
    for example in examples:
        if example.line.startswith(("sieve>", "...>")) and kept:
            kept[-1].stdin.append(example.line.split(">", 1)[1].strip())
        else:
            kept.append(example)
    return kept


def readme_tour() -> list[Example]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    tour = readme.split("## A five-minute tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [Example("README tour", line) for line in joined_lines(tour.strip().splitlines())]


def every_example() -> list[Example]:
    examples = []
    for path in command_paths(main):
        found = examples_in_help(help_text(path), "sieve " + " ".join(path))
        assert found, f"`sieve {' '.join(path)} --help` has no example"
        examples.extend(found)
    return examples + readme_tour()


def sieve_words(line: str, substitutions: dict[str, str]) -> tuple[dict, list[str]] | None:
    """The environment assignments and the words of the line's ``sieve`` command, or None
    when the line runs no Sieve command."""
    for placeholder, value in substitutions.items():
        line = line.replace(placeholder, value)
    match = re.search(r"(?:^|[\s(])(?:[^\s=]*/)?sieve\s", line)
    if match is None:
        return None
    environment = dict(re.findall(r"([A-Z_]+)=(\S+)\s", line[:match.start() + 1]))
    lexer = shlex.shlex(line[match.end():], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if word in SHELL_OPERATORS:
            break
        words.append("acme" if word == "demo" and words else word)
    return environment, words


def runnable(words: list[str]) -> list[str]:
    if words[:3] == ["org", "add", "acme"]:
        return ["org", "add", "acme-2"]
    if words[0] == "connect":
        words = [w if not w.startswith("~/") else str(PROJECT_ROOT) for w in words]
        if "--private-key-file" in words:  # a GitHub App's key, made here (cwd is tmp_path)
            Path(words[words.index("--private-key-file") + 1]).write_text(new_rsa_key_pem())
        return [*words, "--no-check"]
    return words


def new_rsa_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def tmp_path(tmp_path_factory) -> Path:
    """A short temporary directory: dbt's key socket lives under SIEVE_HOME, and a Unix
    socket path may not exceed 107 bytes."""
    return tmp_path_factory.mktemp("ex")


@pytest.fixture
def acme(sieve_org, emulator, monkeypatch, tmp_path):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "github", owner=emulator.org.login)
    org.connect_emulator(emulator, "jira")
    org.sync("github")
    org.sync("jira")
    rebuild_identities(org.sieve, org.org.id)
    build_org_marts(org.sieve, org.org.id)
    monkeypatch.setattr("pipelines.retention.build_org_marts", lambda sieve, org_id: None)
    monkeypatch.chdir(tmp_path)
    return org


def test_examples_run(acme, monkeypatch, webhook_receiver):
    login = acme.query("SELECT login FROM metadata.identity_accounts WHERE system = 'github' "
                       "AND login IS NOT NULL ORDER BY login LIMIT 1")[0][0]
    connection = acme.sieve.control_plane.connections(acme.org)[0]
    substitutions = {"<a login from that list>": login, "conn_1a2b3c4d5e6f": connection.id}
    examples = every_example()
    runs, seen = [], set()
    for example in examples:
        parsed = sieve_words(example.line, substitutions)
        if parsed is None or parsed[1][0] in SKIPPED_COMMANDS or tuple(parsed[1]) in seen:
            continue
        seen.add(tuple(parsed[1]))
        runs.append((example, *parsed))
    runs.sort(key=lambda run: next((n for n, last in enumerate(LAST, start=1)
                                    if tuple(run[2][:len(last)]) == last), 0))
    assert len(runs) >= 30, [e.line for e, _, _ in runs]
    failures = []
    for example, environment, words in runs:
        secret_names = [name for name in environment if name != "SIEVE_HOME"]
        secret_names += [words[i + 1] for i, word in enumerate(words[:-1])
                         if word.endswith("-env")]
        for name in secret_names:
            monkeypatch.setenv(name, webhook_receiver.url if name.endswith("WEBHOOK_URL")
                               else "dummy-secret-for-the-example")
        stdin = "\n".join(example.stdin) + "\n" if example.stdin else None
        result = CliRunner().invoke(main, runnable(words), input=stdin)
        # The shell reports a failed statement and goes on: its output says so.
        if result.exit_code != 0 or "error:" in result.output:
            failures.append(f"{example.where}: {example.line}\n    → {result.output.strip()}")
    assert not failures, "\n".join(failures)
    assert webhook_receiver.received, "`sieve notify --test` sent nothing"
