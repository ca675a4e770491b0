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
from resources.http import RateLimitExhaustedError, SourceUnavailableError
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource
from resources.sources import SOURCES
from resources.sync.engine import SyncSummary, sync_organization_source

OWNERS = ["team:sieve-data-platform"]
API_RETRY_POLICY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL)
# Worth another attempt later: the source was down or out of budget. Anything else people-facing
# (a rejected token, a missing scope, a malformed settings file) fails once, with its message.
TRANSIENT_ERRORS = (SourceUnavailableError, RateLimitExhaustedError)


def run_step(work):
    """Run a step's work; a people-facing error becomes a Dagster Failure carrying its message,
    retried only when retrying can help."""
    try:
        return work()
    except TRANSIENT_ERRORS:
        raise
    except SieveError as error:
        raise Failure(description=str(error), allow_retries=False) from None


def raw_metadata(summaries: list[SyncSummary]) -> dict:
    totals = {"connections": len(summaries), "pages": 0, "pages_not_modified": 0,
              "records_fetched": 0, "http_requests": 0, "http_not_modified": 0,
              "http_bytes_received": 0, "http_retries": 0}
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


def source_sync_asset(source: str):
    label = SOURCES[source].label

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
        retry_policy=API_RETRY_POLICY if SOURCES[source].remote else None,
        pool=f"{source}_api",
    )
    def sync(context: AssetExecutionContext, sieve: SieveResource):
        def work():
            with sieve.open() as opened:
                return sync_organization_source(opened, context.partition_key, source)

        summaries = run_step(work)
        for failed in (summary for summary in summaries if summary.failure):
            context.log.error(failed.failure)
        yield MaterializeResult(asset_key=f"raw_{source}", metadata=raw_metadata(summaries))
        yield MaterializeResult(asset_key=f"{source}_metadata",
                                metadata=extracted_metadata(summaries))

    return sync


def defs() -> Definitions:
    return Definitions(assets=[source_sync_asset(source) for source in SOURCES])
