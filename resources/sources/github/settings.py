"""What a GitHub connection needs: the owner, optionally some repositories, and a token."""

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
    summary="GitHub (github.com or Enterprise Server). A fine-grained read-only token suffices.",
    examples=("GH_TOKEN=... sieve connect acme github --owner acme --token-env GH_TOKEN",
              "sieve connect acme github --owner acme --repos api,web "
              "--base-url https://github.example.com/api/v3 --token-env GHE_TOKEN"),
    options=(
        ConnectOption("--owner", "owner", "Organization or user that owns the repositories.",
                      required=True),
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
)
