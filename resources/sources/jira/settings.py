"""What a Jira Cloud connection needs: the site, optionally some projects, email and token."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="Jira Cloud (basic auth with an account email and API token).",
    examples=("sieve connect acme jira --base-url https://acme.atlassian.net "
              "--email-env JIRA_EMAIL --token-env JIRA_TOKEN --projects PAY,WEB",),
    options=(
        ConnectOption("--base-url", "base_url", "Site URL, e.g. https://acme.atlassian.net.",
                      kind="url", required=True),
        ConnectOption("--projects", "projects", "Comma-separated project keys (default: all "
                      "visible).", kind="list"),
    ),
    secrets=(
        ConnectSecret("--email-env", "email", "Jira account email",
                      "Environment variable holding the account email."),
        ConnectSecret("--token-env", "token", "Jira API token",
                      "Environment variable holding the API token."),
    ),
)
