"""What a GitHub connection needs: the owner, optionally some repositories, and a token or a
GitHub App's id and private key."""

from resources.sources.connect import (
    AuthMode,
    ConnectOption,
    ConnectSecret,
    ConnectSpec,
    check_api,
)
from resources.sources.github.app import prepare_app_connection, visible_owners

CONNECT = ConnectSpec(
    summary="GitHub (github.com or Enterprise Server), as a GitHub App (recommended) or with "
            "a fine-grained read-only token.",
    examples=("GH_TOKEN=... sieve connect acme github --owner acme --token-env GH_TOKEN",
              "sieve connect acme github --owner acme --app-id 123456 --installation-id 7890123 "
              "--private-key-file sieve.2026-01-01.private-key.pem",
              "sieve connect acme github --owner acme --repos api,web "
              "--base-url https://github.example.com/api/v3 --token-env GHE_TOKEN"),
    options=(
        ConnectOption("--owner", "owner", "Organization or user that owns the repositories "
                      "(default: choose among those the credentials can see).", required=True),
        ConnectOption("--repos", "repos", "Comma-separated repository names (default: all of "
                      "the owner's).", kind="list"),
        ConnectOption("--base-url", "base_url", "API root; for GitHub Enterprise Server use "
                      "https://HOST/api/v3.", kind="url", default="https://api.github.com"),
        ConnectOption("--api", "api", "graphql: pull requests with their reviews and commits in "
                      "one query per hundred (about 0.05 points each); rest: the REST API only. "
                      "Where GraphQL is unavailable, REST is used with a notice.",
                      default="graphql"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "GitHub token",
                           "Environment variable holding the token."),),
    validate=check_api,
    auth_modes=(AuthMode(
        kind="github_app", trigger="app_id", prepare=prepare_app_connection,
        options=(
            ConnectOption("--app-id", "app_id", "Connect as this GitHub App (its numeric App "
                          "ID) instead of with a token."),
            ConnectOption("--private-key-file", "private_key_file", "The app's private key "
                          "(.pem); it is sealed in the vault, so the file may be deleted "
                          "afterwards.", kind="file"),
            ConnectOption("--installation-id", "installation_id", "The app's installation "
                          "(default: the one on --owner)."),
        ),
        stored_note="The app's private key is sealed in Sieve's vault: you may delete "
                    "the .pem file now."),),
    discover=visible_owners,
    discover_key="owner",
)
