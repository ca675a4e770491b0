"""What the retention sensors and the deletion jobs share: job names and the typed run config.
A run carries the request id only — never an email, a login or an org's name."""

from __future__ import annotations

from dagster import Config, RunConfig, RunRequest

DELETION_OP = "execute_deletion"
JOB_FOR_SCOPE = {
    "person": "forget_person",
    "connection": "delete_connection_data",
    "organization": "purge_organization",
    "out_of_date": "remove_out_of_date_data",
}
REQUEST_TAG = "sieve/deletion_request"
SCOPE_TAG = "sieve/deletion_scope"


class DeletionRequestConfig(Config):
    """The deletion request to carry out (an opaque ``del_…`` id from the control plane)."""

    request_id: str


def deletion_run_request(request_id: str, scope: str) -> RunRequest:
    return RunRequest(
        run_key=request_id,
        job_name=JOB_FOR_SCOPE[scope],
        run_config=RunConfig(ops={DELETION_OP: DeletionRequestConfig(request_id=request_id)}),
        tags={REQUEST_TAG: request_id, SCOPE_TAG: scope},
    )
