"""Run retries by tag, one run per organization at a time, and a pool limit per source API —
the same in the embedded instance and in deploy/dagster.yaml."""

from __future__ import annotations

import yaml
from dagster import DagsterInstance

from pipelines.instance import (
    POOL_LIMITS,
    PRODUCTION_TEMPLATE,
    RUN_RETRIES_TAG,
    apply_pool_limits,
    write_embedded_instance,
)

POLICY_SECTIONS = ("run_retries", "concurrency", "run_monitoring", "run_launcher")


def test_embedded_and_production_instances_share_the_scheduling_policy(sieve_home):
    embedded = yaml.safe_load(write_embedded_instance(sieve_home / "dagster").read_text())
    production = yaml.safe_load(PRODUCTION_TEMPLATE.read_text())
    for section in POLICY_SECTIONS:
        assert embedded[section] == production[section], section


def test_embedded_instance_loads_the_policy(sieve_home):
    dagster_home = sieve_home / "dagster"
    write_embedded_instance(dagster_home)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.run_retries_enabled
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit is not None and pools.default_pool_limit > 0
        [per_org] = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert per_org["key"] == "dagster/partition" and per_org["limit"] == 1


def test_every_source_pool_has_a_limit():
    from pipelines.definitions import defs

    pools = {node.pool for job in [defs.resolve_job_def("sync_organization")]
             for node in job.graph.node_defs if getattr(node, "pool", None)}
    source_pools = {pool for pool in pools if pool.endswith("_api")}
    assert source_pools == set(POOL_LIMITS)


def test_sync_job_opts_into_run_retries():
    from pipelines.definitions import defs

    tags = defs.resolve_job_def("sync_organization").tags
    assert int(tags[RUN_RETRIES_TAG]) > 0
    assert tags["dagster/retry_strategy"] == "FROM_FAILURE"


def test_pool_limits_are_applied_without_overriding_an_operator(sieve_home):
    dagster_home = sieve_home / "dagster"
    write_embedded_instance(dagster_home)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.event_log_storage.set_concurrency_slots("github_api", 1)
        apply_pool_limits(instance)
        storage = instance.event_log_storage
        assert storage.get_concurrency_info("github_api").slot_count == 1
        assert storage.get_concurrency_info("slack_api").slot_count == POOL_LIMITS["slack_api"]
