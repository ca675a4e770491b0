"""What an Opsgenie connection needs: a read-only API key, and the EU host for EU accounts."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="Opsgenie (an API key with Read access only: Settings → API key management → "
            "Add new API key, Read ticked, nothing else).",
    examples=("OPSGENIE_API_KEY=... sieve connect acme opsgenie --api-key-env OPSGENIE_API_KEY",
              "sieve connect acme opsgenie --base-url https://api.eu.opsgenie.com "
              "--api-key-env OPSGENIE_API_KEY"),
    options=(
        ConnectOption("--base-url", "base_url", "REST API host (EU accounts: "
                      "https://api.eu.opsgenie.com).", kind="url",
                      default="https://api.opsgenie.com"),
        ConnectOption("--history-days", "history_days", "How many days of incidents and alerts "
                      "the first sync reads (default 365).", default="365"),
    ),
    secrets=(ConnectSecret("--api-key-env", "api_key", "Opsgenie API key",
                           "Environment variable holding the API key."),),
)
