"""What a GitLab connection needs: the group, optionally some projects, and a token."""

from resources.sources.connect import (
    AuthMode,
    ConnectOption,
    ConnectSecret,
    ConnectSpec,
    check_api,
)
from resources.sources.gitlab.discovery import visible_groups

CONNECT = ConnectSpec(
    summary="GitLab (gitlab.com or self-hosted). A token with read_api scope suffices.",
    examples=("GL_TOKEN=... sieve connect acme gitlab --group acme --token-env GL_TOKEN",
              "sieve connect acme gitlab --group acme/platform --projects acme/platform/api "
              "--base-url https://gitlab.example.com --token-env GL_TOKEN"),
    options=(
        ConnectOption("--group", "group", "Group (full path) to read (default: choose among "
                      "those where the credentials' user is at least a Reporter).",
                      required=True),
        ConnectOption("--projects", "projects", "Comma-separated project paths (default: all "
                      "in the group).", kind="list"),
        ConnectOption("--base-url", "base_url", "GitLab host, e.g. https://gitlab.example.com "
                      "for self-hosted.", kind="url", default="https://gitlab.com"),
        ConnectOption("--api", "api", "graphql: merge requests with their approvals (and when "
                      "they were given), commits and users in one query per hundred; rest: the "
                      "REST API only (about four requests per merge request). Where GraphQL is "
                      "unavailable, REST is used with a notice.", default="graphql"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "GitLab token",
                           "Environment variable holding the token."),),
    validate=check_api,
    auth_modes=(AuthMode(
        kind="oauth", trigger="oauth", provider="gitlab",
        options=(ConnectOption("--oauth", "oauth", "Authorize through OAuth 2.0 (an application "
                               "with read_api registered on the GitLab instance).", kind="flag"),
                 ConnectOption("--auth-code", "auth_code", "No browser here: paste the address "
                               "the browser was redirected to at a hidden prompt.",
                               kind="flag")),
        secrets=(ConnectSecret("--client-id-env", "client_id", "OAuth application id",
                               "Environment variable holding the OAuth application id."),
                 ConnectSecret("--client-secret-env", "client_secret", "OAuth application "
                               "secret", "Environment variable holding the application "
                               "secret."))),),
    discover=visible_groups,
    discover_key="group",
)
