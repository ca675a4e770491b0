"""What a Bitbucket Cloud connection needs: the workspace, optionally some repositories, and
either a workspace access token or a username with an app password, each with read scopes only."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="Bitbucket Cloud. A workspace access token (Workspace settings → Access tokens) "
            "with the read scopes Repositories, Pull requests, Pipelines and Account (for the "
            "member list) — nothing with write or admin — or, with --username, an app password "
            "with Account, Workspace membership, Repositories, Pull requests and Pipelines: "
            "Read.",
    examples=("BITBUCKET_TOKEN=... sieve connect acme bitbucket --workspace acme "
              "--token-env BITBUCKET_TOKEN",
              "sieve connect acme bitbucket --workspace acme --username ana "
              "--repositories api,web --token-env BITBUCKET_APP_PASSWORD"),
    options=(
        ConnectOption("--workspace", "workspace", "Workspace id (slug) to read.", required=True),
        ConnectOption("--repositories", "repositories", "Comma-separated repository slugs "
                      "(default: every repository of the workspace).", kind="list"),
        ConnectOption("--username", "username", "Bitbucket username the app password belongs "
                      "to (omit it for an access token)."),
        ConnectOption("--base-url", "base_url", "REST API host.", kind="url",
                      default="https://api.bitbucket.org"),
        ConnectOption("--history-days", "history_days", "How many days of pull requests, "
                      "commits, pipelines and deployments the first sync reads (default 365).",
                      default="365"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "Bitbucket access token or app password",
                           "Environment variable holding the access token (or the app "
                           "password, with --username)."),),
)
