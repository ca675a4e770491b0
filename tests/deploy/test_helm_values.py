"""deploy/helm/values.yaml, checked without a cluster: the fields the official Dagster chart
needs are there, no secret is written in it, and the dagster.yaml the chart renders from it
passes Dagster's own instance-config validation and carries Sieve's scheduling policy.

`render_instance_yaml` follows the chart's `configmap-instance.yaml` template for the values
Sieve sets; `helm template` is the authoritative rendering where helm is installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage

from pipelines.instance import PRODUCTION_TEMPLATE, write_embedded_instance

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy" / "helm" / "values.yaml"
RELEASE, NAMESPACE = "sieve", "sieve"
SIEVE_SECRETS = {"sieve-keys", "sieve-control-plane"}


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def fullname() -> str:
    return RELEASE if "dagster" in RELEASE else f"{RELEASE}-dagster"


def names(refs: list[dict]) -> set[str]:
    return {ref["name"] for ref in refs}


def postgres_config(values: dict) -> dict:
    pg = values["postgresql"]
    config = {"postgres_db": {
        "username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"], "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"], "params": pg.get("postgresqlParams") or {}}}
    if pg.get("postgresqlScheme"):
        config["postgres_db"]["scheme"] = pg["postgresqlScheme"]
    return config


def k8s_run_launcher(values: dict) -> dict:
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": values["global"]["serviceAccountName"],
        "dagster_home": values["global"]["dagsterHome"],
        "instance_config_map": f"{fullname()}-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "env_config_maps": sorted(names(launcher.get("envConfigMaps", []))),
        "env_secrets": sorted(names(launcher.get("envSecrets", []))),
    }
    for key, field in (("volumes", "volumes"), ("volumeMounts", "volume_mounts"),
                       ("resources", "resources")):
        if launcher.get(key):
            config[field] = launcher[key]
    if launcher.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def concurrency(values: dict) -> dict:
    pools, runs = values["concurrency"]["pools"], values["concurrency"]["runs"]
    return {
        "pools": {"default_limit": pools["defaultLimit"], "granularity": pools["granularity"]},
        "runs": {"max_concurrent_runs": runs["maxConcurrentRuns"],
                 "tag_concurrency_limits": [
                     {"key": limit["key"], "value": limit["value"], "limit": limit["limit"]}
                     for limit in runs["tagConcurrencyLimits"]]},
    }


def render_instance_yaml(values: dict) -> dict:
    """The chart's instance ConfigMap (`dagster.yaml`) for these values."""
    daemon = values["dagsterDaemon"]
    storage = postgres_config(values)
    rendered = {
        "scheduler": {"module": "dagster.core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", "config": storage},
        "run_launcher": k8s_run_launcher(values),
        "run_storage": {"module": "dagster_postgres.run_storage",
                        "class": "PostgresRunStorage", "config": storage},
        "event_log_storage": {"module": "dagster_postgres.event_log",
                              "class": "PostgresEventLogStorage", "config": storage},
        "run_coordinator": {"module": "dagster.core.run_coordinator",
                            "class": "QueuedRunCoordinator", "config": {}},
        "compute_logs": {"module": "dagster.core.storage.noop_compute_log_manager",
                         "class": "NoOpComputeLogManager"},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    monitoring = daemon["runMonitoring"]
    if monitoring["enabled"]:
        rendered["run_monitoring"] = {
            "enabled": True, "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"]}
    retries = daemon["runRetries"]
    if retries["enabled"]:
        rendered["run_retries"] = {"enabled": True}
        if retries.get("maxRetries"):  # the chart leaves a zero out
            rendered["run_retries"]["max_retries"] = retries["maxRetries"]
    if values["concurrency"]["enabled"]:
        rendered["concurrency"] = concurrency(values)
    return rendered


def validated(config: dict, directory: Path) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dagster.yaml").write_text(yaml.safe_dump(config))
    processed, _ = dagster_instance_config(str(directory))
    return processed


def test_chart_essentials(values):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    assert values["computeLogManager"]["type"] == "NoOpComputeLogManager"
    assert values["telemetry"]["enabled"] is False
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"


def test_user_code_deployment_serves_this_project(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == "pipelines.definitions"
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True


def test_code_server_and_run_pods_get_the_same_secrets_and_data_volume(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert names(deployment["envSecrets"]) == names(launcher["envSecrets"]) == SIEVE_SECRETS
    assert deployment["volumeMounts"] == launcher["volumeMounts"]
    assert deployment["volumes"] == launcher["volumes"]
    [home] = [e["value"] for e in deployment["env"] if e["name"] == "SIEVE_HOME"]
    assert home in {mount["mountPath"] for mount in launcher["volumeMounts"]}


SECRET_ENV = {"SIEVE_MASTER_KEY", "SIEVE_PREVIOUS_MASTER_KEYS", "SIEVE_AUDIT_KEY",
              "SIEVE_CONTROL_PLANE_URL", "DAGSTER_PG_PASSWORD"}


def mappings(node, path=()):
    """Every mapping of a parsed YAML document, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from mappings(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from mappings(item, (*path, index))


def test_no_secret_is_written_in_the_values(values):
    for path, mapping in mappings(values):
        where = "/".join(map(str, path))
        for key, value in mapping.items():
            assert not (re.search(r"(password|token)$", key, re.IGNORECASE) and value), \
                f"{where}/{key}"
        # An environment variable holding a secret comes from a Secret, never a literal value.
        assert not (mapping.get("name") in SECRET_ENV and "value" in mapping), where


def test_rendered_instance_passes_dagster_validation(values, tmp_path):
    rendered = render_instance_yaml(values)
    processed = validated(rendered, tmp_path / "helm")
    for storage_class, section in ((PostgresRunStorage, "run_storage"),
                                   (PostgresEventLogStorage, "event_log_storage"),
                                   (PostgresScheduleStorage, "schedule_storage")):
        result = validate_config(storage_class.config_type(), rendered[section]["config"])
        assert result.success, (section, result.errors)
    launcher = processed["run_launcher"]["config"]
    assert SIEVE_SECRETS <= set(launcher["env_secrets"])
    assert launcher["postgres_password_secret"] == values["global"]["postgresqlSecretName"]


def test_rendered_instance_has_the_scheduling_policy_of_every_sieve_instance(values, tmp_path,
                                                                            sieve_home):
    helm = validated(render_instance_yaml(values), tmp_path / "helm")
    embedded = validated(yaml.safe_load(write_embedded_instance(sieve_home / "dagster")
                                        .read_text()), tmp_path / "embedded")
    production = validated(yaml.safe_load(PRODUCTION_TEMPLATE.read_text()),
                           tmp_path / "production")
    for section in ("run_retries", "concurrency"):
        assert helm[section] == embedded[section] == production[section], section
    [per_org] = helm["concurrency"]["runs"]["tag_concurrency_limits"]
    assert per_org == {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True},
                       "limit": 1}


def test_storage_matches_the_production_instance_file(values):
    production = yaml.safe_load(PRODUCTION_TEMPLATE.read_text())["storage"]["custom"]["config"]
    helm = postgres_config(values)["postgres_db"]
    assert helm["scheme"] == production["postgres_db"]["scheme"]
    assert helm["password"] == {"env": "DAGSTER_PG_PASSWORD"}
