"""The shared HTTP layer against a scripted loopback server (no real sleeping)."""

from __future__ import annotations

import gzip
import itertools
import logging
import random
import socket
import threading
import time
import traceback
from email.utils import formatdate

import pytest

from resources.http import (
    AuthenticationError,
    BasicEmailToken,
    BearerToken,
    ConcurrencyLimits,
    Deduplicator,
    ErrorContext,
    GitLabPrivateToken,
    HttpClient,
    InMemoryValidatorStore,
    InvalidBaseUrlError,
    MalformedResponseError,
    NotFoundError,
    PaginationStyle,
    PermissionDeniedError,
    RateLimitExhaustedError,
    RequestRejectedError,
    ResponseTooLargeError,
    RetryPolicy,
    SourceUnavailableError,
    SourceUnreachableError,
    validate_base_url,
)
from resources.http.client import INTERACTIVE_UNREACHABLE_BUDGET_SECONDS, interactive_budget
from tests.unit.test_http_loopback import FakeClock, LoopbackServer, Reply

TOKEN = "canary-token-7f3c9e1d5b"
BODY_CANARY = "canary-body-4a8e2f6c"
CONTEXT = ErrorContext(org_slug="acme", connection_id="conn-7")
PULLS = "/repos/acme/app/pulls"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock):
    loopback = LoopbackServer(clock)
    yield loopback
    loopback.close()


@pytest.fixture
def make_client(server: LoopbackServer, clock: FakeClock):
    clients: list[HttpClient] = []

    def build(**overrides) -> HttpClient:
        options = {
            "auth": BearerToken(TOKEN),
            "source": "github",
            "context": CONTEXT,
            "timeout": (2.0, 0.25),
            "retry": RetryPolicy(
                max_retries=4, backoff_base=1.0, backoff_cap=8.0, max_total_wait=600
            ),
            "validators": InMemoryValidatorStore(),
            "clock": clock,
            "sleep": clock.sleep,
            "rng": random.Random(7),
        }
        options.update(overrides)
        client = HttpClient(server.url, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def body_free(message: str) -> bool:
    return BODY_CANARY not in message and TOKEN not in message


# -- retries ----------------------------------------------------------------------------


def test_server_error_burst_is_retried_with_growing_jittered_backoff(server, clock, make_client):
    server.script(PULLS, Reply(500), Reply(502), Reply(503), Reply(json=[{"id": 1}]))
    client = make_client()

    response = client.get_json(PULLS)

    assert response.data == [{"id": 1}]
    assert len(server.received) == 4
    assert len(clock.sleeps) == 3
    for retry_number, slept in enumerate(clock.sleeps):
        assert 2**retry_number / 2 <= slept <= 2**retry_number
    stats = client.stats
    assert (stats.requests, stats.retries) == (4, 3)
    assert stats.wait_seconds == pytest.approx(sum(clock.sleeps))


def test_backoff_is_reproducible_with_a_seeded_rng():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0)
    first = [policy.backoff(n, random.Random(3)) for n in range(6)]
    again = [policy.backoff(n, random.Random(3)) for n in range(6)]
    assert first == again
    assert max(first) <= 8.0


def test_429_retry_after_seconds_is_honoured(server, clock, make_client):
    server.script(PULLS, Reply(429, headers={"Retry-After": "7"}), Reply(json=[]))

    make_client(source="jira").get_json(PULLS)

    first, second = server.received
    assert second.at - first.at >= 7
    assert clock.sleeps == [7]


def test_429_retry_after_http_date_is_honoured(server, clock, make_client):
    retry_at = clock() + 30
    server.script(PULLS, Reply(429, headers={"Retry-After": formatdate(retry_at, usegmt=True)}),
                  Reply(json=[]))

    make_client().get_json(PULLS)

    first, second = server.received
    assert second.at >= retry_at
    assert clock.sleeps == [pytest.approx(30)]


def test_429_throttled_waits_for_opsgenie_rate_limit_period(server, clock, make_client):
    headers = {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "INTEGRATION",
               "X-RateLimit-Period-In-Sec": "12"}
    server.script(PULLS, Reply(429, headers=headers), Reply(json=[]))

    make_client(source="opsgenie").get_json(PULLS)

    first, second = server.received
    assert second.at - first.at >= 12
    assert clock.sleeps == [12]


@pytest.mark.parametrize(
    ("status", "limit_headers"),
    [
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "{reset}"}),  # GitHub primary
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "{reset}"}),  # GitHub primary
        (429, {"RateLimit-Remaining": "0", "RateLimit-Reset": "{reset}"}),  # GitLab
    ],
)
def test_exhausted_primary_limit_waits_until_reset(
    server, clock, make_client, status, limit_headers
):
    reset = int(clock()) + 120
    headers = {name: value.format(reset=reset) for name, value in limit_headers.items()}
    server.script(PULLS, Reply(status, {"message": "API rate limit exceeded for user ID 1."},
                               headers=headers), Reply(json=[]))

    make_client().get_json(PULLS)

    first, second = server.received
    assert first.at < reset <= second.at


def test_no_request_is_sent_while_a_limit_is_known_exhausted(server, clock, make_client):
    reset = int(clock()) + 300
    server.script("/user", Reply(json={}, headers={"x-ratelimit-remaining": "0",
                                                   "x-ratelimit-reset": str(reset)}))
    server.script(PULLS, Reply(json=[], headers={"x-ratelimit-remaining": "4999",
                                                 "x-ratelimit-reset": str(reset + 3600)}))
    client = make_client()

    client.get_json("/user")
    client.get_json(PULLS)
    client.get_json(PULLS)

    assert [r.path for r in server.received] == ["/user", PULLS, PULLS]
    assert server.received[1].at >= reset
    assert server.received[2].at == server.received[1].at  # the limit was replenished


def test_a_reset_in_seconds_from_now_counts_from_the_clients_clock(server, clock, make_client):
    # PagerDuty sends RateLimit-Reset as seconds from now; the wait is on the client's clock.
    server.script("/user", Reply(json={}, headers={"RateLimit-Remaining": "0",
                                                   "RateLimit-Reset": "30"}))
    server.script(PULLS, Reply(json=[]))
    client = make_client(source="pagerduty")

    client.get_json("/user")
    client.get_json(PULLS)

    first, second = server.received
    assert second.at - first.at >= 30


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [({"Retry-After": "45"}, 45), ({}, 60)],
    ids=["with-retry-after", "message-only"],
)
def test_github_secondary_limit_waits(server, clock, make_client, headers, expected_wait):
    message = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    server.script(PULLS, Reply(403, message, headers=headers), Reply(json=[]))

    make_client().get_json(PULLS)

    first, second = server.received
    assert second.at - first.at >= expected_wait


def test_429_without_hints_backs_off_then_gives_up(server, clock, make_client):
    server.script(PULLS, Reply(429, {"message": BODY_CANARY}))

    with pytest.raises(RateLimitExhaustedError, match="after 5 attempts") as caught:
        make_client().get_json(PULLS)

    assert len(server.received) == 5
    assert clock.sleeps == sorted(clock.sleeps) and len(clock.sleeps) == 4
    assert body_free(str(caught.value))


def test_limit_resetting_beyond_the_wait_budget_fails_without_sending(server, clock, make_client):
    reset = int(clock()) + 7200
    exhausted = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    server.script(PULLS, Reply(403, {"message": "API rate limit exceeded"}, headers=exhausted))
    client = make_client()

    with pytest.raises(RateLimitExhaustedError) as caught:
        client.get_json(PULLS, {"state": "all"})

    assert len(server.received) == 1
    assert clock.sleeps == []
    assert caught.value.resets_at >= reset
    message = str(caught.value)
    for expected in ("'acme'", "'conn-7'", f"GET {PULLS}?state=all", "Run the sync again after"):
        assert expected in message


def test_read_timeout_is_retried(server, clock, make_client):
    server.script(PULLS, Reply(json=[1], hold=threading.Event()), Reply(json=[{"id": 2}]))

    response = make_client().get_json(PULLS)

    assert response.data == [{"id": 2}]
    assert len(server.received) == 2


def test_connection_dropped_mid_response_is_retried(server, make_client):
    server.script(PULLS, Reply(json=[{"id": 1, "title": BODY_CANARY}], cut_after=5),
                  Reply(json=[{"id": 1}]))

    assert make_client().get_json(PULLS).data == [{"id": 1}]
    assert len(server.received) == 2


def test_truncated_json_is_retried_and_never_logged(server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    server.script(PULLS, Reply(body=b'[{"id": 1, "title": "' + BODY_CANARY.encode()),
                  Reply(json=[{"id": 1}]))

    assert make_client().get_json(PULLS).data == [{"id": 1}]
    assert len(server.received) == 2
    assert "retry 1 of 4" in caplog.text
    assert body_free(caplog.text)


def test_retry_cap_gives_a_clear_error_without_body_text(server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    server.script(PULLS, Reply(503, {"message": BODY_CANARY}))
    client = make_client()

    with pytest.raises(SourceUnavailableError) as caught:
        client.get_json(PULLS, {"state": "all", "access_token": "leaked"})

    assert len(server.received) == 5
    message = str(caught.value)
    for expected in ("'acme'", "'conn-7'", f"GET {PULLS}?state=all&access_token=***",
                     "after 5 attempts", "503", "re-run the sync later"):
        assert expected in message
    assert body_free(message) and "leaked" not in message
    assert body_free(caplog.text)
    assert all("leaked" not in r.getMessage() for r in caplog.records if r.name == "sieve.http")
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_persistently_invalid_json_is_a_malformed_response_error(server, make_client):
    server.script(PULLS, Reply(body=b"<html>" + BODY_CANARY.encode()))

    with pytest.raises(MalformedResponseError) as caught:
        make_client().get_json(PULLS)

    assert "not valid JSON" in str(caught.value) and body_free(str(caught.value))


def test_wait_budget_bounds_retries(server, make_client):
    server.script(PULLS, Reply(503, headers={"Retry-After": "500"}))
    client = make_client(retry=RetryPolicy(max_retries=10, max_total_wait=900))

    with pytest.raises(SourceUnavailableError):
        client.get_json(PULLS)

    assert len(server.received) == 2


# -- errors that are not retried ------------------------------------------------------


def test_bad_credentials_name_the_connection_and_the_fix(server, make_client):
    server.script("/user", Reply(401, {"message": "Bad credentials", "leak": BODY_CANARY}))

    with pytest.raises(AuthenticationError) as caught:
        make_client().get_json("/user")

    message = str(caught.value)
    assert "(401 Bad credentials)" in message
    assert "`sieve connect acme github`" in message
    assert "'conn-7'" in message and "GET /user" in message
    assert body_free(message)
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "expected"),
    [
        (403, {"message": "Resource not accessible by integration"},
         {"X-Accepted-OAuth-Scopes": "repo"}, PermissionDeniedError, "needed scopes: repo"),
        (403, {"error": "insufficient_scope", "error_description": "x", "scope": "api read_api"},
         {}, PermissionDeniedError, "needed scopes: api read_api"),
        (403, {"message": "Resource protected by organization SAML enforcement."},
         {"X-GitHub-SSO": "required; url=https://github.com/orgs/acme/sso"}, PermissionDeniedError,
         "SAML single sign-on"),
        (404, {"message": "Not Found"}, {}, NotFoundError, "can be skipped"),
        (404, {"message": "404 Project Not Found"}, {}, NotFoundError, "(404 Project Not Found)"),
        (410, {"message": "Issues are disabled for this repo"}, {}, NotFoundError, "410"),
        (422, {"message": "Validation Failed", "errors": [{"value": BODY_CANARY}]}, {},
         RequestRejectedError, "bug in Sieve's github connector"),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    server, make_client, status, body, headers, error, expected
):
    server.script(PULLS, Reply(status, body, headers=headers))

    with pytest.raises(error) as caught:
        make_client().get_json(PULLS)

    assert expected in str(caught.value)
    assert caught.value.status == status
    assert body_free(str(caught.value))
    assert len(server.received) == 1


def test_redirect_to_another_host_is_not_followed(server, make_client):
    other_origin = server.url.replace("127.0.0.1", "localhost")
    server.script(PULLS, Reply(302, headers={"Location": f"{other_origin}/elsewhere"}))

    with pytest.raises(RequestRejectedError, match="redirected"):
        make_client().get_json(PULLS)

    assert [r.path for r in server.received] == [PULLS]


def test_same_host_redirect_is_followed(server, make_client):
    server.script("/repos/acme/old", Reply(301, headers={"Location": "/repos/acme/new"}))
    server.script("/repos/acme/new", Reply(json={"id": 3}))

    response = make_client().get_json("/repos/acme/old")

    assert response.data == {"id": 3}
    assert response.path == "/repos/acme/new"


# -- secrets ----------------------------------------------------------------------------


def test_token_never_appears_in_repr_errors_or_logs(server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    server.script("/user", Reply(500), Reply(401, {"message": "Bad credentials"}))
    client = make_client()

    with pytest.raises(AuthenticationError) as caught:
        client.get_json("/user")

    assert server.received[0].headers["authorization"] == f"Bearer {TOKEN}"
    shown = [repr(client), str(client), repr(caught.value), str(caught.value), caplog.text,
             "".join(traceback.format_exception(caught.value))]
    assert all(TOKEN not in text for text in shown)


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (BearerToken(TOKEN), "authorization", f"Bearer {TOKEN}"),
        (GitLabPrivateToken(TOKEN), "private-token", TOKEN),
        (BasicEmailToken("dev@example.com", TOKEN), "authorization",
         "Basic ZGV2QGV4YW1wbGUuY29tOmNhbmFyeS10b2tlbi03ZjNjOWUxZDVi"),
    ],
)
def test_each_auth_kind_sends_its_header_and_hides_its_secret(
    server, make_client, auth, header, value
):
    server.script("/me", Reply(json={}))

    make_client(auth=auth).get_json("/me")

    assert server.received[0].headers[header] == value
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)


def test_token_is_stripped_and_unprintable_tokens_are_refused_without_echo(server, make_client):
    server.script("/me", Reply(json={}))
    make_client(auth=BearerToken(f"{TOKEN}\n")).get_json("/me")
    assert server.received[0].headers["authorization"] == f"Bearer {TOKEN}"

    with pytest.raises(ValueError, match="control characters") as caught:
        BearerToken(f"{TOKEN}\x00tail")
    assert TOKEN not in str(caught.value)


def test_credentials_are_refused_in_plain_headers(server, make_client):
    with pytest.raises(ValueError, match="credentials go in `auth`"):
        make_client(headers={"PRIVATE-TOKEN": TOKEN})


# -- base URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://api.github.com/", "https://api.github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.5.5/", "http://127.5.5.5"),
        ("http://localhost:9000/api", "http://localhost:9000/api"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_validate_base_url_accepts_https_and_loopback_http(url, normalised):
    assert validate_base_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://gitlab.example.com", "non-loopback"),
        ("http://10.0.0.5", "non-loopback"),
        ("http://localhost.example.com", "non-loopback"),
        ("ftp://example.com", "is not an http"),
        ("https://user:secret@example.com", "embeds credentials"),
        ("https://example.com/api?token=x", "query"),
    ],
)
def test_validate_base_url_refuses_unsafe_urls(url, reason):
    with pytest.raises(InvalidBaseUrlError, match=reason) as caught:
        validate_base_url(url)
    assert "secret" not in str(caught.value)


def test_client_refuses_plain_http_to_a_remote_host():
    with pytest.raises(InvalidBaseUrlError, match="https://"):
        HttpClient("http://api.example.com", BearerToken(TOKEN), source="github", context=CONTEXT)


# -- conditional requests ---------------------------------------------------------------


def test_validators_are_sent_only_after_the_caller_commits_them(server, make_client):
    etag = '"8600bedcb7fed1d8065e1693e05529ce"'
    modified = "Thu, 22 Aug 2013 02:09:11 GMT"

    def answer(received):
        if received.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(json={"id": 1}, headers={"ETag": etag, "Last-Modified": modified})

    server.route("/repos/acme/app", answer)
    client = make_client()

    first = client.get_json("/repos/acme/app", conditional_key="repo:acme/app")
    client.get_json("/repos/acme/app", conditional_key="repo:acme/app")  # validators uncommitted
    client.commit_validators(first.validators)
    unchanged = client.get_json("/repos/acme/app", conditional_key="repo:acme/app")

    assert (first.data, first.not_modified) == ({"id": 1}, False)
    assert (first.validators.etag, first.validators.last_modified) == (etag, modified)
    assert "if-none-match" not in server.received[1].headers
    assert server.received[2].headers["if-none-match"] == etag
    assert server.received[2].headers["if-modified-since"] == modified
    assert (unchanged.status, unchanged.not_modified, unchanged.data) == (304, True, None)
    assert unchanged.validators is None
    assert client.stats.not_modified == 1


def test_conditional_first_page_answered_304_skips_the_listing(server, make_client):
    store = InMemoryValidatorStore()
    store.put("pulls:acme/app", '"abc"', None)
    server.script(PULLS, Reply(304, headers={"ETag": '"abc"'}))

    pages = list(make_client(validators=store).paginate(
        PULLS, {"sort": "updated", "direction": "desc"}, style=PaginationStyle.GITHUB,
        conditional_key="pulls:acme/app"))

    assert len(pages) == 1
    assert pages[0].not_modified and pages[0].items == [] and pages[0].status == 304
    assert server.received[0].headers["if-none-match"] == '"abc"'


# -- pagination -------------------------------------------------------------------------


def link(server: LoopbackServer, target: str) -> dict[str, str]:
    return {"Link": f'<{server.url}{target}>; rel="next", <{server.url}{PULLS}?page=3>; rel="last"'}


def test_github_link_pagination_walks_every_page_once(server, make_client):
    server.script(PULLS, Reply(json=[{"id": 1}, {"id": 2}],
                               headers=link(server, f"{PULLS}?page=2")))
    server.script(f"{PULLS}?page=2", Reply(json=[{"id": 3}],
                                           headers=link(server, f"{PULLS}?page=3")))
    server.script(f"{PULLS}?page=3", Reply(json=[{"id": 4}]))

    pages = list(make_client().paginate(PULLS, style=PaginationStyle.GITHUB))

    assert [item["id"] for page in pages for item in page.items] == [1, 2, 3, 4]
    assert server.paths() == [PULLS, f"{PULLS}?page=2", f"{PULLS}?page=3"]
    assert [(p.number, p.path, p.status, p.not_modified) for p in pages] == [
        (1, PULLS, 200, False), (2, PULLS, 200, False), (3, PULLS, 200, False)]
    assert all(page.bytes_received > 0 for page in pages)


def test_pages_are_fetched_only_when_asked_for(server, make_client):
    server.script(PULLS, Reply(json=[{"id": 1}], headers=link(server, f"{PULLS}?page=2")))
    server.script(f"{PULLS}?page=2", Reply(json=[{"id": 2}]))

    pages = make_client().paginate(PULLS, style=PaginationStyle.GITHUB)
    first = next(pages)

    assert first.items == [{"id": 1}]
    assert len(server.received) == 1


def test_github_items_field_unwraps_object_listings(server, make_client):
    server.script("/repos/acme/app/actions/runs",
                  Reply(json={"total_count": 1, "workflow_runs": [{"id": 9}]}))

    pages = list(make_client().paginate("/repos/acme/app/actions/runs",
                                        style=PaginationStyle.GITHUB, items_field="workflow_runs"))

    assert pages[0].items == [{"id": 9}]


def test_gitlab_x_next_page_pagination(server, make_client):
    projects = "/api/v4/groups/acme/projects"
    server.script(f"{projects}?per_page=2",
                  Reply(json=[{"id": 1}, {"id": 2}], headers={"X-Next-Page": "2"}))
    server.script(f"{projects}?per_page=2&page=2",
                  Reply(json=[{"id": 3}], headers={"X-Next-Page": ""}))

    pages = list(make_client(source="gitlab", auth=GitLabPrivateToken(TOKEN)).paginate(
        projects, {"per_page": 2}, style=PaginationStyle.GITLAB))

    assert [item["id"] for page in pages for item in page.items] == [1, 2, 3]
    assert len(server.received) == 2


def test_jira_search_start_at_pagination(server, make_client):
    search = "/rest/api/3/search"

    def answer(received):
        start = int(received.query.get("startAt", 0))
        issues = [{"key": f"SV-{n}"} for n in range(start, min(start + 2, 5))]
        return Reply(json={"startAt": start, "maxResults": 2, "total": 5, "issues": issues})

    server.route(search, answer)

    pages = list(make_client(source="jira").paginate(
        search, {"jql": "project = SV", "maxResults": 2}, style=PaginationStyle.JIRA_SEARCH))

    assert [i["key"] for p in pages for i in p.items] == [f"SV-{n}" for n in range(5)]
    assert [r.query.get("startAt") for r in server.received] == [None, "2", "4"]


def test_jira_next_page_token_pagination(server, make_client):
    search = "/rest/api/3/search/jql"
    server.script(f"{search}?jql=project+%3D+SV",
                  Reply(json={"issues": [{"key": "SV-1"}], "nextPageToken": "t2"}))
    server.script(f"{search}?jql=project+%3D+SV&nextPageToken=t2",
                  Reply(json={"issues": [{"key": "SV-2"}], "isLast": True}))

    pages = list(make_client(source="jira").paginate(
        search, {"jql": "project = SV"}, style=PaginationStyle.JIRA_SEARCH))

    assert [i["key"] for p in pages for i in p.items] == ["SV-1", "SV-2"]


def test_jira_agile_is_last_pagination(server, make_client):
    sprints = "/rest/agile/1.0/board/1/sprint"

    def answer(received):
        start = int(received.query.get("startAt", 0))
        return Reply(json={"startAt": start, "maxResults": 2, "isLast": start >= 2,
                           "values": [{"id": start + 1}, {"id": start + 2}]})

    server.route(sprints, answer)

    client = make_client(source="jira")
    pages = list(client.paginate(sprints, style=PaginationStyle.JIRA_AGILE))

    assert [v["id"] for p in pages for v in p.items] == [1, 2, 3, 4]
    assert len(server.received) == 2


def test_azure_devops_continuation_token_pagination(server, make_client):
    builds = "/Apps/_apis/build/builds"
    server.script(f"{builds}?%24top=2", Reply(json={"count": 2, "value": [{"id": 1}, {"id": 2}]},
                                               headers={"x-ms-continuationtoken": "b2s6Mg=="}))
    server.script(f"{builds}?%24top=2&continuationToken=b2s6Mg%3D%3D",
                  Reply(json={"count": 1, "value": [{"id": 3}]}))

    pages = list(make_client(source="azuredevops").paginate(
        builds, {"$top": 2}, style=PaginationStyle.AZURE_DEVOPS))

    assert [b["id"] for p in pages for b in p.items] == [1, 2, 3]
    assert len(server.received) == 2


def test_azure_devops_batches_follow_the_body_token_until_the_last_batch(server, make_client):
    revisions = "/Apps/_apis/wit/reporting/workitemrevisions"
    server.script(f"{revisions}?fields=System.State",
                  Reply(json={"values": [{"id": 1, "rev": 1}], "continuationToken": "5;1;1",
                              "nextLink": "ignored", "isLastBatch": False}))
    server.script(f"{revisions}?fields=System.State&continuationToken=5%3B1%3B1",
                  Reply(json={"values": [{"id": 2, "rev": 1}], "continuationToken": "9;2;1",
                              "isLastBatch": True}))

    pages = list(make_client(source="azuredevops").paginate(
        revisions, {"fields": "System.State"}, style=PaginationStyle.AZURE_DEVOPS_BATCH))

    assert [v["id"] for p in pages for v in p.items] == [1, 2]
    # Each batch names where to resume after it: the last one too, to keep as a cursor.
    assert [p.resume_token for p in pages] == ["5;1;1", "9;2;1"]
    assert len(server.received) == 2


def test_top_skip_pagination_advances_by_top_and_ends_on_a_short_page(server, make_client):
    pulls = "/Apps/_apis/git/repositories/r/pullrequests"

    def answer(received):
        skip = int(received.query.get("$skip", 0))
        # A repeated page starts one item early: the walk must not skip what follows it.
        begin = skip - 1 if skip == 2 else skip
        return Reply(json={"value": [{"id": n} for n in range(begin, min(skip + 2, 5))]})

    server.route(pulls, answer)

    pages = list(make_client(source="azuredevops").paginate(
        pulls, {"$top": 2}, style=PaginationStyle.TOP_SKIP))

    assert [r.query.get("$skip") for r in server.received] == [None, "2", "4"]
    assert sorted({i["id"] for p in pages for i in p.items}) == [0, 1, 2, 3, 4]


def test_slack_cursor_pagination(server, make_client):
    method = "/api/conversations.list"

    def answer(received):
        if received.query.get("cursor") == "dGVhbTpDMDI=":
            return Reply(json={"ok": True, "channels": [{"id": "C02"}],
                               "response_metadata": {"next_cursor": ""}})
        return Reply(json={"ok": True, "channels": [{"id": "C01"}],
                           "response_metadata": {"next_cursor": "dGVhbTpDMDI="}})

    server.route(method, answer)

    pages = list(make_client(source="slack", ok_flag_errors=True).paginate(
        method, {"types": "public_channel", "limit": 1}, style=PaginationStyle.SLACK,
        items_field="channels"))

    assert [c["id"] for p in pages for c in p.items] == ["C01", "C02"]
    assert server.received[1].query == {
        "types": "public_channel", "limit": "1", "cursor": "dGVhbTpDMDI="}


@pytest.mark.parametrize(
    ("body", "error", "expected"),
    [
        ({"ok": False, "error": "invalid_auth"}, AuthenticationError, "Slack error invalid_auth"),
        ({"ok": False, "error": "missing_scope", "needed": "channels:read", "provided": "x"},
         PermissionDeniedError, "needed scopes: channels:read"),
        ({"ok": False, "error": "channel_not_found"}, NotFoundError, "channel_not_found"),
        ({"ok": False, "error": "invalid_cursor"}, RequestRejectedError, "invalid_cursor"),
    ],
)
def test_slack_error_bodies_are_typed(server, make_client, body, error, expected):
    server.script("/api/conversations.history", Reply(json=body))

    with pytest.raises(error, match=expected):
        list(make_client(source="slack", ok_flag_errors=True).paginate(
            "/api/conversations.history", {"channel": "C01"}, style=PaginationStyle.SLACK,
            items_field="messages"))

    assert len(server.received) == 1


def test_slack_ratelimited_waits_for_retry_after(server, clock, make_client):
    server.script("/api/users.list",
                  Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "20"}),
                  Reply(json={"ok": True, "members": [{"id": "U1"}]}))

    pages = list(make_client(source="slack", ok_flag_errors=True).paginate(
        "/api/users.list", style=PaginationStyle.SLACK, items_field="members"))

    assert pages[0].items == [{"id": "U1"}]
    assert server.received[1].at - server.received[0].at >= 20


def test_repeated_next_link_is_stopped(server, make_client):
    server.script(PULLS, Reply(json=[{"id": 1}], headers=link(server, f"{PULLS}?page=2")))
    server.script(f"{PULLS}?page=2",
                  Reply(json=[{"id": 2}], headers=link(server, f"{PULLS}?page=2")))

    walked = []
    with pytest.raises(MalformedResponseError, match="endless loop"):
        pages = make_client().paginate(PULLS, style=PaginationStyle.GITHUB)
        for page in itertools.islice(pages, 5):
            walked.append(page.number)

    assert walked == [1, 2]
    assert len(server.received) == 2


def test_jira_server_ignoring_start_at_is_stopped(server, make_client):
    server.script("/rest/api/3/search",
                  Reply(json={"startAt": 0, "maxResults": 2, "total": 9,
                              "issues": [{"key": "A"}, {"key": "B"}]}))

    pages = make_client(source="jira").paginate("/rest/api/3/search",
                                                         style=PaginationStyle.JIRA_SEARCH)
    with pytest.raises(MalformedResponseError, match="endless loop"):
        list(itertools.islice(pages, 5))

    assert len(server.received) == 2


def test_next_link_to_another_host_is_refused(server, make_client):
    foreign = {"Link": '<https://evil.example.com/x>; rel="next"'}
    server.script(PULLS, Reply(json=[{"id": 1}], headers=foreign))

    with pytest.raises(MalformedResponseError, match="evil.example.com"):
        list(make_client().paginate(PULLS, style=PaginationStyle.GITHUB))


def test_unexpected_page_shape_is_reported(server, make_client):
    server.script(PULLS, Reply(json={"message": BODY_CANARY}))

    with pytest.raises(MalformedResponseError, match="expected a JSON list") as caught:
        list(make_client().paginate(PULLS, style=PaginationStyle.GITHUB))

    assert body_free(str(caught.value))


def test_deduplicator_drops_items_repeated_across_pages():
    dedupe = Deduplicator(key=lambda item: item["id"])

    assert dedupe.fresh([{"id": 1}, {"id": 2}]) == [{"id": 1}, {"id": 2}]
    assert dedupe.fresh([{"id": 2}, {"id": 3}]) == [{"id": 3}]
    assert dedupe.duplicates == 1


# -- concurrency and accounting ---------------------------------------------------------


def test_concurrency_limit_caps_requests_in_flight(server, make_client):
    in_flight = peak = 0
    changed = threading.Condition()

    def answer(received):
        nonlocal in_flight, peak
        with changed:
            in_flight += 1
            peak = max(peak, in_flight)
            changed.notify_all()
            # Hold each request briefly unless the cap is already broken, so that without
            # a limiter all six would be in flight together.
            changed.wait_for(lambda: in_flight > 2, timeout=0.2)
            in_flight -= 1
        return Reply(json={})

    server.route("/slow", answer)
    limits = ConcurrencyLimits(default_max_in_flight=8, per_source={"github": 2})
    clients = [make_client(limits=limits, timeout=(2.0, 10.0)) for _ in range(3)]
    workers = [threading.Thread(target=clients[n % 3].get_json, args=("/slow",)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)

    assert len(server.received) == 6
    assert peak <= 2


def test_stats_are_counts_for_metadata(server, make_client):
    server.script(PULLS, Reply(500), Reply(json=[{"id": 1}]))
    client = make_client()
    client.get_json(PULLS)

    metadata = client.stats.as_metadata()

    assert set(metadata) == {
        "requests", "retries", "not_modified", "bytes_received", "wait_seconds", "points"}
    assert (metadata["requests"], metadata["retries"], metadata["not_modified"]) == (2, 1, 0)
    assert metadata["points"] == 0  # GraphQL points are counted by resources.http.graphql
    assert metadata["bytes_received"] == len(b'[{"id": 1}]')


def test_user_agent_names_sieve(server, make_client):
    server.script("/me", Reply(json={}))
    make_client().get_json("/me")
    assert server.received[0].headers["user-agent"].startswith("Sieve/")


def test_unreachable_host_is_source_unavailable(clock):
    client = HttpClient(f"http://127.0.0.1:{closed_port()}", BearerToken(TOKEN), source="gitlab",
                        context=CONTEXT, retry=RetryPolicy(max_retries=1), clock=clock,
                        sleep=clock.sleep, rng=random.Random(1))

    with pytest.raises(SourceUnavailableError, match="connection refused"):
        client.get_json("/api/v4/user")


def test_endpoints_in_errors_and_logs_never_name_a_person():
    from resources.http.urls import describe_endpoint

    assert describe_endpoint("GET", "https://api.github.com/users/ada-l") == "GET /users/{person}"
    assert describe_endpoint("GET", "https://gl.example/api/v4/users/42") == \
        "GET /api/v4/users/{person}"
    assert "5b10ac8d" not in describe_endpoint(
        "GET", "https://acme.atlassian.net/rest/api/3/user", {"accountId": "5b10ac8d"})
    assert "ada@example.com" not in describe_endpoint("GET", "https://x/search/ada@example.com")
    assert describe_endpoint("GET", "https://x/repos/o/r/pulls", {"state": "all"}) == \
        "GET /repos/o/r/pulls?state=all"


# -- limits: the size of an answer, the time of an attempt, an unreachable host ----------


def test_a_body_larger_than_the_cap_is_refused_without_being_read(server, make_client):
    server.script(PULLS, Reply(json=[{"id": n, "title": BODY_CANARY} for n in range(500)]))

    with pytest.raises(ResponseTooLargeError) as caught:
        make_client(max_body_bytes=4096).get_json(PULLS)

    message = str(caught.value)
    assert "more than 0 MB" not in message and "'conn-7'" in message and body_free(message)
    assert server.received and len(server.received) == 1  # not retried: it would repeat


def test_a_compressed_body_is_capped_by_its_decoded_size(server, make_client):
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    server.script(PULLS, Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    assert len(bomb) < 4096

    with pytest.raises(ResponseTooLargeError):
        make_client(max_body_bytes=65536).get_json(PULLS)


def test_a_body_dripping_in_meets_the_request_deadline(server, make_client):
    server.script(PULLS, Reply(body=b'[{"id": 1}]' + b" " * 200, drip=0.05))
    client = make_client(timeout=(2.0, 2.0), deadline=0.5, retry=RetryPolicy(max_retries=1))

    started = time.monotonic()
    with pytest.raises(SourceUnavailableError) as caught:
        client.get_json(PULLS)

    assert time.monotonic() - started < 3.0
    assert "still incomplete after" in str(caught.value) and len(server.received) == 2


def closed_port() -> int:
    """A free port, bound and closed again, so nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_gives_up_within_the_unreachable_budget(clock):
    client = HttpClient(f"http://127.0.0.1:{closed_port()}", BearerToken(TOKEN), source="github",
                        context=CONTEXT, retry=RetryPolicy(max_retries=50, backoff_cap=60.0),
                        clock=clock, sleep=clock.sleep, rng=random.Random(7))

    with pytest.raises(SourceUnreachableError) as caught:
        client.get_json(PULLS)

    assert sum(clock.sleeps) <= 30.0
    message = str(caught.value)
    for expected in ("'acme'", "'conn-7'", "connection refused", "Check the connection's base URL"):
        assert expected in message


def test_a_check_a_person_waits_for_gives_up_on_an_unreachable_host_sooner(clock):
    def time_spent_retrying(client_clock) -> float:
        client = HttpClient(f"http://127.0.0.1:{closed_port()}", BearerToken(TOKEN),
                            source="github", context=CONTEXT,
                            retry=RetryPolicy(max_retries=50, backoff_cap=60.0),
                            clock=client_clock, sleep=client_clock.sleep, rng=random.Random(7))
        with pytest.raises(SourceUnreachableError):
            client.get_json(PULLS)
        return sum(client_clock.sleeps)

    with interactive_budget():
        interactive = time_spent_retrying(clock)
    clock.sleeps.clear()
    nightly = time_spent_retrying(clock)

    assert interactive <= INTERACTIVE_UNREACHABLE_BUDGET_SECONDS < nightly <= 30.0


def test_a_failed_dns_lookup_is_unreachable_too(clock, monkeypatch):
    def no_answer(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_answer)
    client = HttpClient("https://git.example.invalid", BearerToken(TOKEN), source="github",
                        context=CONTEXT, retry=RetryPolicy(max_retries=50, backoff_cap=60.0),
                        clock=clock, sleep=clock.sleep, rng=random.Random(7))

    with pytest.raises(SourceUnreachableError) as caught:
        client.get_json(PULLS)

    assert sum(clock.sleeps) <= 30.0 and "DNS lookup failed" in str(caught.value)


def test_hide_paths_keeps_the_path_out_of_logs_and_errors(server, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="sieve.http")
    server.script(PULLS, Reply(503), Reply(503))
    client = make_client(retry=RetryPolicy(max_retries=1, backoff_base=0.01, backoff_cap=0.01),
                         hide_paths=True)
    with pytest.raises(SourceUnavailableError) as raised:
        client.get_json(PULLS)
    assert "GET (path not shown)" in str(raised.value)
    assert "retry 1 of 1" in caplog.text
    assert "acme/app" not in str(raised.value) + caplog.text
