"""What a GitLab connection needs: the group, optionally some projects, and a token."""

from resources.sources.connect import (
    ConnectOption,
    ConnectSecret,
    ConnectSettingsError,
    ConnectSpec,
)

APIS = ("graphql", "rest")


def check_api(settings: dict) -> None:
    """Only the two APIs the connector speaks."""
    if settings.get("api") not in APIS:
        raise ConnectSettingsError(f"--api must be one of {', '.join(APIS)}, not "
                                   f"{settings.get('api')!r}.")


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
        ConnectOption("--api", "api", "graphql: merge requests with their approvals (and when "
                      "they were given), commits and users in one query per hundred; rest: the "
                      "REST API only (about four requests per merge request). Where GraphQL is "
                      "unavailable, REST is used with a notice.", default="graphql"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "GitLab token",
                           "Environment variable holding the token."),),
    validate=check_api,
)
