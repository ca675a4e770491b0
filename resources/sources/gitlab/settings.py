"""What a GitLab connection needs: the group, optionally some projects, and a token."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="GitLab (gitlab.com or self-hosted). A token with read_api scope suffices.",
    examples=("GL_TOKEN=... sieve connect acme gitlab --group acme --token-env GL_TOKEN",
              "sieve connect acme gitlab --group acme/platform --projects acme/platform/api "
              "--base-url https://gitlab.example.com --token-env GL_TOKEN"),
    options=(
        ConnectOption("--group", "group", "Group (full path) to read.", required=True),
        ConnectOption("--projects", "projects", "Comma-separated project paths (default: all "
                      "in the group).", kind="list"),
        ConnectOption("--base-url", "base_url", "GitLab host, e.g. https://gitlab.example.com "
                      "for self-hosted.", kind="url", default="https://gitlab.com"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "GitLab token",
                           "Environment variable holding the token."),),
)
