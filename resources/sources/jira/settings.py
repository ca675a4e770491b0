"""What a Jira Cloud connection needs: the site, optionally some projects, email and token."""

from resources.sources.connect import AuthMode, ConnectOption, ConnectSecret, ConnectSpec
from resources.sources.jira.discovery import visible_projects

CONNECT = ConnectSpec(
    summary="Jira Cloud (basic auth with an account email and API token).",
    examples=("sieve connect acme jira --base-url https://acme.atlassian.net "
              "--email-env JIRA_EMAIL --token-env JIRA_TOKEN --projects PAY,WEB",
              "sieve connect acme jira --base-url https://jira.example.com --basic "
              "--username-env JIRA_USER --password-env JIRA_PASSWORD --all-projects"),
    options=(
        ConnectOption("--base-url", "base_url", "Site URL, e.g. https://acme.atlassian.net.",
                      kind="url", required=True),
        ConnectOption("--projects", "projects", "Comma-separated project keys (default: choose "
                      "among those the account can browse).", kind="list"),
        ConnectOption("--all-projects", "all_projects", "Every project the account can "
                      "browse, now and later, instead of --projects.", kind="flag"),
    ),
    secrets=(
        ConnectSecret("--email-env", "email", "Jira account email",
                      "Environment variable holding the account email."),
        ConnectSecret("--token-env", "token", "Jira API token",
                      "Environment variable holding the API token."),
    ),
    auth_modes=(AuthMode(
        kind="basic", trigger="basic",
        options=(ConnectOption("--basic", "basic", "Jira Server or Data Center: a username and "
                               "password (HTTP Basic) instead of an email and API token.",
                               kind="flag"),),
        secrets=(ConnectSecret("--username-env", "username", "Jira username",
                               "Environment variable holding the username (else a prompt)."),
                 ConnectSecret("--password-env", "password", "Jira password",
                               "Environment variable holding the password (else a hidden "
                               "prompt)."))),),
    discover=visible_projects,
    discover_key="projects",
    discover_all="all_projects",
)
