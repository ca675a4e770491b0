"""The Dagster instance Sieve runs in.

Embedded default: SQLite storage under ``DAGSTER_HOME`` (``SIEVE_HOME/dagster``; Dagster's own
file layout, with connections kept open: pipelines/instance_storage.py), compute logs
off — a captured stdout could hold a raw payload (docs/architecture.md, rule 1) — and
telemetry off (offline).
Production: ``deploy/dagster.yaml``, dagster-postgres for runs, event logs and schedules,
configured from environment variables; past one machine, ``deploy/helm/values.yaml``.

Every flavour carries the same scheduling policy (``SCHEDULING_POLICY``):

- run retries by tag: the instance allows them, and a job opts in with ``dagster/max_retries``
  (``sync_organization`` does). Steps retry transient API errors themselves (``RetryPolicy``);
  a run retry re-executes from the failed step after a crashed worker or exhausted step retries.
- one in-progress run per organization partition: its DuckDB file takes one writer.
- concurrency pools per source API (``<source>_api``, set on the sync assets): parallel org
  runs open a bounded number of streams to each API. The instance file can only hold the
  default limit; per-pool limits live in the instance's storage and are applied by
  ``apply_pool_limits`` (the CLI does it when it opens the instance; operators run
  ``dagster instance concurrency set <pool> <limit>`` — see docs/operations.md).
- run monitoring: the daemon fails a run whose process died (``kill -9``, OOM, a crash) and
  frees the pool slots it held, which would otherwise block every organization's syncs; the
  local run launcher (``SieveRunLauncher``, pipelines/dead_runs.py) tells it whether a run's
  process is alive. The CLI makes the same check before it launches a run.
"""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance

from resources.sources import SOURCES

PRODUCTION_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml"

# Concurrent steps per source API across all runs. Slack's per-method tiers are the tightest;
# git reads local clones, bounded by disk rather than by an API.
# One pool per registered source, sized in the registry.
POOL_LIMITS = {f"{source.name}_api": source.concurrent_syncs for source in SOURCES.values()}
# Any other pool (the dbt builds' `org_database`) gets this many concurrent steps.
DEFAULT_POOL_LIMIT = 4
MAX_CONCURRENT_RUNS = 8
RUN_RETRIES_TAG = "dagster/max_retries"
# How often the daemon looks for runs whose process died (and frees the slots of ended runs).
RUN_MONITORING_POLL_SECONDS = 30

NO_COMPUTE_LOGS = """\
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""

SCHEDULING_POLICY = f"""\
run_retries:
  enabled: true
concurrency:
  pools:
    default_limit: {DEFAULT_POOL_LIMIT}
    granularity: op
  runs:
    max_concurrent_runs: {MAX_CONCURRENT_RUNS}
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_monitoring:
  enabled: true
  poll_interval_seconds: {RUN_MONITORING_POLL_SECONDS}
  max_resume_run_attempts: 0
  free_slots_after_run_end_seconds: {RUN_MONITORING_POLL_SECONDS}
"""

LOCAL_RUN_LAUNCHER = """\
run_launcher:
  module: pipelines.dead_runs
  class: SieveRunLauncher
"""


def embedded_instance_yaml(dagster_home: Path) -> str:
    return f"""\
# Written by `sieve init`. Embedded default: SQLite storage, no compute logs, no telemetry.
run_storage:
  module: pipelines.instance_storage
  class: SieveSqliteRunStorage
  config:
    base_dir: {dagster_home / "storage" / "history"}
event_log_storage:
  module: pipelines.instance_storage
  class: SieveSqliteEventLogStorage
  config:
    base_dir: {dagster_home / "storage" / "history" / "runs"}
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {dagster_home / "storage" / "schedules"}
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: {dagster_home}
{NO_COMPUTE_LOGS}{LOCAL_RUN_LAUNCHER}{SCHEDULING_POLICY}telemetry:
  enabled: false
"""


def write_embedded_instance(dagster_home: Path) -> Path:
    """Create (or refresh) DAGSTER_HOME/dagster.yaml; an operator's own file is left alone."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    if not target.exists() or target.read_text().startswith("# Written by `sieve init`"):
        target.write_text(embedded_instance_yaml(dagster_home))
    return target


def apply_pool_limits(instance: DagsterInstance) -> None:
    """Give each source API's pool its limit, unless an operator already set one."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    configured = storage.get_concurrency_keys()
    for pool, limit in POOL_LIMITS.items():
        if pool not in configured:
            storage.set_concurrency_slots(pool, limit)
