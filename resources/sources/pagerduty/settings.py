"""What a PagerDuty connection needs: a read-only REST API key, optionally some services."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="PagerDuty (a read-only REST API key: Integrations → API Access Keys → "
            "Read-only API Key).",
    examples=("PAGERDUTY_TOKEN=u+... sieve connect acme pagerduty --token-env PAGERDUTY_TOKEN",
              "sieve connect acme pagerduty --base-url https://api.eu.pagerduty.com "
              "--token-env PAGERDUTY_TOKEN --services PX1AB2C,PY3DE4F"),
    options=(
        ConnectOption("--base-url", "base_url", "REST API host (EU accounts: "
                      "https://api.eu.pagerduty.com).", kind="url",
                      default="https://api.pagerduty.com"),
        ConnectOption("--services", "services", "Comma-separated service ids (default: every "
                      "service the key can read).", kind="list"),
        ConnectOption("--history-days", "history_days", "How many days of incidents the first "
                      "sync reads (default 365).", default="365"),
    ),
    secrets=(ConnectSecret("--token-env", "token", "PagerDuty read-only API key",
                           "Environment variable holding the API key."),),
)
