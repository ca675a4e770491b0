"""What a Slack connection needs: a bot token (public channels only)."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="Slack, public channels only (bot scopes channels:read, channels:history, "
            "users:read).",
    examples=("SLACK_TOKEN=xoxb-... sieve connect acme slack --token-env SLACK_TOKEN",),
    options=(
        ConnectOption("--base-url", "base_url", "Slack API host.", kind="url",
                      default="https://slack.com"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "Slack bot token",
                           "Environment variable holding the bot token."),),
)
