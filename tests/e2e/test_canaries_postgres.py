"""The canary and forbidden-PII scan of tests/e2e/test_canaries.py on the production storage: a
PostgreSQL control plane and Dagster instance (deploy/dagster.yaml), scanned through pg_dump as
well. In a file of its own so that it runs beside the embedded scan, not after it."""

from __future__ import annotations

import pytest

from tests.e2e.test_canaries import assert_nothing_forbidden_is_kept

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_no_canary_reaches_the_production_stores_and_no_forbidden_pii_is_kept(
        request, sieve_home, emulator, monkeypatch, caplog, capfd, tmp_path, webhook_receiver):
    assert_nothing_forbidden_is_kept("postgres", request, sieve_home, emulator, monkeypatch,
                                     caplog, capfd, tmp_path, webhook_receiver)
