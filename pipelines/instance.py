"""The Dagster instance Sieve runs in.

Embedded default: SQLite storage under ``DAGSTER_HOME`` (``SIEVE_HOME/dagster``), compute logs
off — a captured stdout could hold a raw payload (hard rule 1) — and telemetry off (offline).
Production: ``deploy/dagster.yaml``, dagster-postgres for runs, event logs and schedules,
configured from environment variables.
"""

from __future__ import annotations

from pathlib import Path

PRODUCTION_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml"

NO_COMPUTE_LOGS = """\
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""


def embedded_instance_yaml(dagster_home: Path) -> str:
    return f"""\
# Written by `sieve init`. Embedded default: SQLite storage, no compute logs, no telemetry.
storage:
  sqlite:
    base_dir: {dagster_home / "storage"}
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: {dagster_home}
{NO_COMPUTE_LOGS}telemetry:
  enabled: false
"""


def write_embedded_instance(dagster_home: Path) -> Path:
    """Create (or refresh) DAGSTER_HOME/dagster.yaml; an operator's own file is left alone."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    if not target.exists() or target.read_text().startswith("# Written by `sieve init`"):
        target.write_text(embedded_instance_yaml(dagster_home))
    return target
