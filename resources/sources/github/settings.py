"""What a GitHub connection needs: the owner, optionally some repositories, and a token."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

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
    ),
    secrets=(ConnectSecret("--token-env", "token", "GitHub token",
                           "Environment variable holding the token."),),
)
