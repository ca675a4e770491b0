"""Raw fetch and metadata extraction, one multi-asset per source.

``raw_<source>`` and ``<source>_metadata`` materialize in ONE step: raw pages are handed to
extraction in memory and never cross a process boundary, so no IO manager ever pickles them
(docs/architecture.md, rule 1). The raw asset records counts only — pages, records,
requests, bytes, 304s.
"""

from collections import Counter

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Backoff,
    Definitions,
    Failure,
    MaterializeResult,
    RetryPolicy,
    multi_asset,
)

from resources.errors import SieveError
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource
from resources.sources import SOURCES
from resources.sync.engine import SyncSummary, sync_organization_source

OWNERS = ["team:sieve-data-platform"]
API_RETRY_POLICY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL)
# Failure metadata: the source, and one entry per failed connection; read back by `sieve sync`.
FAILURE_SOURCE_LABEL = "source"
FAILED_CONNECTION_LABEL = "failed connection "
# Raw materialization metadata: one entry per connection skipped until a person acts.
SKIPPED_CONNECTION_LABEL = "skipped connection "


def run_step(work):
    """Run a step's work; a people-facing error (a malformed settings file, a missing key) becomes
    a Dagster Failure whose description is its message: the UI shows it first, with no chained
    traceback above it. Retrying cannot help, so it is not retried."""
    try:
        return work()
    except SieveError as error:
        raise Failure(description=str(error), allow_retries=False) from None


def connections_failure(source: str, summaries: list[SyncSummary], *,
                        allow_retries: bool) -> Failure:
    """The step's failure when some connections failed: the description is their people-facing
    messages, one line each, so the UI's first line is the cause, not a traceback; the
    metadata repeats each by connection."""
    label = SOURCES[source].label
    failed = [summary for summary in summaries if summary.failure]
    synced = sum(1 for summary in summaries if not summary.failure and not summary.skipped)
    metadata = {FAILURE_SOURCE_LABEL: source, "connections_failed": len(failed),
                "connections_synced": synced,
                **{f"{FAILED_CONNECTION_LABEL}{s.connection_id}": s.failure for s in failed}}
    consequence = ("the step is retried" if allow_retries
                   else "the metrics are rebuilt without the failed ones")
    description = "\n".join([*(s.failure for s in failed),
                             f"({synced} of {len(summaries)} {label} connections synced; "
                             f"{consequence}.)"])
    return Failure(description=description, metadata=metadata, allow_retries=allow_retries)


def raw_metadata(summaries: list[SyncSummary]) -> dict:
    skipped = [summary for summary in summaries if summary.skipped]
    totals = {"connections": len(summaries), "connections_skipped": len(skipped), "pages": 0,
              "pages_not_modified": 0, "records_fetched": 0, "http_requests": 0,
              "http_not_modified": 0, "http_bytes_received": 0, "http_retries": 0,
              **{f"{SKIPPED_CONNECTION_LABEL}{s.connection_id}": s.skipped for s in skipped}}
    for summary in summaries:
        totals["pages"] += summary.pages
        totals["pages_not_modified"] += summary.pages_not_modified
        totals["records_fetched"] += summary.records_fetched
        for key in ("requests", "not_modified", "bytes_received", "retries"):
            totals[f"http_{key}"] += int(summary.http.get(key, 0))
    return totals


def extracted_metadata(summaries: list[SyncSummary]) -> dict:
    per_table: dict[str, int] = {}
    for summary in summaries:
        for table, count in summary.rows_upserted.items():
            per_table[table] = per_table.get(table, 0) + count
    refusals: Counter = sum((s.refusals for s in summaries), Counter())
    return {
        "rows_upserted": sum(per_table.values()),
        "records_refused": sum(s.records_refused for s in summaries),
        "fields_refused": dict(sorted(refusals.items())),
        "connections_failed": sum(1 for s in summaries if s.failure),
        "seconds": round(sum(s.seconds for s in summaries), 3),
        **{f"rows_upserted.{table}": count for table, count in sorted(per_table.items())},
    }


def retries_left(context: AssetExecutionContext, retry_policy: RetryPolicy | None) -> bool:
    return retry_policy is not None and context.retry_number < retry_policy.max_retries


def source_sync_asset(source: str, api_retry_policy: RetryPolicy = API_RETRY_POLICY):
    label = SOURCES[source].label
    retry_policy = api_retry_policy if SOURCES[source].remote else None

    @multi_asset(
        name=f"{source}_sync",
        specs=[
            AssetSpec(f"raw_{source}", group_name="raw", kinds={source}, owners=OWNERS,
                      description=f"Pages downloaded from {label}, processed in memory and never "
                                  "stored. Metadata: counts of pages, records, requests, bytes."),
            AssetSpec(f"{source}_metadata", group_name="metadata", deps=[f"raw_{source}"],
                      kinds={source, "duckdb"}, owners=OWNERS,
                      description=f"Allow-listed {label} metadata upserted into the "
                                  "organization's encrypted DuckDB (schema `metadata`)."),
        ],
        partitions_def=organization_partitions,
        retry_policy=retry_policy,
        pool=f"{source}_api",
    )
    def sync(context: AssetExecutionContext, sieve: SieveResource):
        def work():
            with sieve.open() as opened:
                return sync_organization_source(opened, context.partition_key, source)

        summaries = run_step(work)
        for summary in summaries:
            if summary.skipped:
                context.log.warning(f"skipped {summary.skipped}")
        failed = [summary for summary in summaries if summary.failure]
        retry_may_help = any(summary.retry_may_help for summary in failed)
        if retry_may_help and retries_left(context, retry_policy):
            # Raised before the materializations: the steps downstream wait for the retry.
            raise connections_failure(source, summaries, allow_retries=True)
        yield MaterializeResult(asset_key=f"raw_{source}", metadata=raw_metadata(summaries))
        yield MaterializeResult(asset_key=f"{source}_metadata",
                                metadata=extracted_metadata(summaries))
        if failed:
            # After them: what was synced counts, and the job's executor starts the steps
            # downstream once these outputs exist (pipelines/jobs.py), so the marts go on.
            raise connections_failure(source, summaries, allow_retries=False)

    return sync


def defs() -> Definitions:
    return Definitions(assets=[source_sync_asset(source) for source in SOURCES])
