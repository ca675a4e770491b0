"""`sieve-dbt`: dbt's command line, with the project parsed once instead of on every build.

dbt parses the whole project again whenever a run's ``--vars`` or profile differ from those of
the parse it kept ("Unable to do partial parsing because config vars, config profile, or config
target have changed"), and every Sieve build's differ: its as-of instant, the organization's
file, the socket that hands over the key. A full parse of this project is most of a small
build (about 10 s of 25 on an idle 2-core machine, 40 s of 100 under load).

The parse does not depend on those values: no model config, source, test or property reads a
var (tests/dbt/test_dbt_project.py, `test_the_project_parses_the_same_whatever_the_vars`,
keeps it so); models read the vars when they are compiled, which every run does with its own.
So this command parses the project with no vars
and the profile's defaults, where dbt's partial parsing applies, and hands the parsed manifest
to the build, the way dbt's programmatic API documents reusing one (`dbtRunner(manifest=...)`,
docs.getdbt.com "Programmatic invocations"). The parse is kept beside the run's target
(``<run>/parse``), seeded from the one `make venv` prepared, so a changed model is re-parsed and
nothing else.

A build writes its log file at info level (a line per node and per result) unless the operator
asks for another level (``--log-level-file`` or ``DBT_LOG_LEVEL_FILE``). At dbt's default, debug,
every SQL statement, connection and commit is a JSON line too: 4,720 lines and 5.4 MB for a
50-PR repository, written under a lock the two dbt threads wait on, 1.5–2.5 s of a 15 s build
(bench/results/small-sync.json). The parse keeps debug, a dozen lines that say whether it
parsed anything.

``--version`` is answered here, from the installed packages' metadata: dbt's own asks PyPI for
the latest release (a network call at run time, which Sieve never makes) and imports all of dbt,
2.4 s that dagster-dbt paid on every build to learn the version. Any other command (``parse``,
``debug``...) is dbt's own, unchanged.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from resources.marts.warm_dbt import hand_over, serve_builds, serve_one_build

# dbt commands that run nodes from a manifest; the rest go to dbt as they are.
RUNS_NODES = frozenset({"build", "run", "test", "compile", "seed", "snapshot", "show"})
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
BUILD_FILE_LOG_LEVEL = "info"
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def dbt_environment(project_dir: Path, target_path: Path, log_path: Path | None = None,
                    base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A dbt process's environment: its project and profile, its target and its log (beside
    the target unless given), no anonymous usage statistics. It holds no secret."""
    return {**(os.environ if base is None else base),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_TARGET_PATH": str(target_path), "DBT_LOG_PATH": str(log_path or target_path),
            "DBT_PROFILES_DIR": str(project_dir), "DBT_PROJECT_DIR": str(project_dir)}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-v"]):
        print(installed_versions())
        return 0
    if args[:1] == ["--serve-one-build"]:  # started by resources.marts.warm_dbt.warm_dbt
        return serve_one_build(Path(args[1]), int(args[2]), load=load_dbt,
                               prepare=prepare_default_parse, build=run_nodes)
    if args[:1] == ["--serve-builds"]:  # started by resources.marts.warm_dbt.dbt_build_server
        return serve_builds(Path(args[1]), int(args[2]), load=load_dbt,
                            prepare=prepare_default_parse, build=run_nodes)
    command_at = next((i for i, arg in enumerate(args) if arg in RUNS_NODES), None)
    target = os.environ.get("DBT_TARGET_PATH")
    if command_at is None or not target:
        dbt = str(Path(sys.executable).with_name("dbt"))
        os.execv(dbt, [dbt, *args])
    handed_over = hand_over(Path(target), args)
    if handed_over is not None:
        return handed_over
    return run_nodes(args, None)


@dataclass(frozen=True)
class ProjectParse:
    """A var-free parse of the project, kept in ``path`` (resources.marts.dbt_command)."""

    path: Path
    global_flags: tuple[str, ...]
    manifest: object


def parse_project(parse_path: Path, global_flags: Sequence[str]) -> ProjectParse | None:
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke([*global_flags, "--quiet", "parse", "--no-write-json",
                                 "--target-path", str(parse_path)])
    if not parsed.success:
        cause = parsed.exception or "see dbt.log in the run's logs directory"
        print(f"sieve-dbt: dbt could not parse the project ({cause})", file=sys.stderr)
        return None
    return ProjectParse(parse_path, tuple(global_flags), parsed.result)


def load_dbt() -> None:
    from dbt.cli.main import dbtRunner  # noqa: F401  (the import is the point)


def prepare_default_parse() -> ProjectParse | None:
    """What a waiting dbt process does ahead of its build, once dbt is loaded: parse the
    project for the run whose target is ``DBT_TARGET_PATH``, with no global flags (as
    dagster-dbt and the plain runner call it)."""
    return parse_project(parse_directory(Path(os.environ["DBT_TARGET_PATH"])), ())


def run_nodes(args: Sequence[str], prepared: ProjectParse | None) -> int:
    """``dbt <args>`` (a command that runs nodes) from the project's kept parse: the one
    ``prepared`` when it is the parse this run needs, else made now."""
    from dbt.cli.main import dbtRunner

    command_at = next(i for i, arg in enumerate(args) if arg in RUNS_NODES)
    parse_path = parse_directory(Path(os.environ["DBT_TARGET_PATH"]))
    global_flags = tuple(args[:command_at])
    parsed = prepared
    if parsed is None or (parsed.path, parsed.global_flags) != (parse_path, global_flags):
        parsed = parse_project(parse_path, global_flags)
        if parsed is None:
            return 2
    skip_debug_events_nobody_logs()
    result = dbtRunner(manifest=parsed.manifest).invoke([*file_log_level(args), *args])
    if result.success:
        return 0
    return 1 if result.exception is None else 2


def skip_debug_events_nobody_logs() -> None:
    """dbt turns every event it fires into a protobuf message, then hands it to each log, which
    formats a line even when its level drops it, and to its callbacks. A build fires ~4,300
    debug events (each SQL statement, connection, commit) that no log at info level keeps:
    about a fifth of its Python time. This drops a debug event before any of that when every
    log is above debug and the only callback is dbt's own, which watches for behaviour-change
    warnings. Anything else (a log at debug, another callback, a warning) goes through
    unchanged."""
    from dbt.events.logging import track_behavior_change_warn
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager

    fire_event = EventManager.fire_event
    if getattr(fire_event, "skips_unlogged_debug_events", False):
        return
    debug_levels = (EventLevel.DEBUG, EventLevel.TEST)

    def fire_unless_nobody_logs(self, e, level=None, node=None,
                                force_warn_or_error_handling=False):
        if ((level or e.level_tag()) == EventLevel.DEBUG and not force_warn_or_error_handling
                and all(logger.level not in debug_levels for logger in self.loggers)
                and all(callback is track_behavior_change_warn for callback in self.callbacks)):
            return
        fire_event(self, e, level=level, node=node,
                   force_warn_or_error_handling=force_warn_or_error_handling)

    fire_unless_nobody_logs.skips_unlogged_debug_events = True
    EventManager.fire_event = fire_unless_nobody_logs


def file_log_level(args: Sequence[str]) -> list[str]:
    """The build's log file at info level, unless the operator chose a level."""
    if "--log-level-file" in args or "DBT_LOG_LEVEL_FILE" in os.environ:
        return []
    return ["--log-level-file", BUILD_FILE_LOG_LEVEL]


def installed_versions() -> str:
    """What ``dbt --version`` prints of the installed dbt-core and adapter, in its layout
    (dagster-dbt reads the first version number), without asking for the latest release."""
    return "\n".join(["Core:", f"  - installed: {version('dbt-core')}", "", "Plugins:",
                      f"  - duckdb: {version('dbt-duckdb')}"])


def parse_directory(target_path: Path) -> Path:
    """Where this run's organization keeps its var-free parse: ``<run>/parse`` beside the
    run's ``target``, seeded from the project's prepared parse when it has none yet."""
    parse_path = target_path.parent / "parse"
    kept = parse_path / PARTIAL_PARSE_FILE
    prepared = DBT_PROJECT_DIR / "target" / PARTIAL_PARSE_FILE
    if not kept.exists() and prepared.exists():
        parse_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(prepared, kept)
    return parse_path


if __name__ == "__main__":
    sys.exit(main())
