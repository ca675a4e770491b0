"""What a Jira connection needs: the site, optionally some projects, and credentials (an email
and API token, OAuth 2.0, or a username and password)."""

from resources.sources.connect import AuthMode, ConnectOption, ConnectSecret, ConnectSpec
from resources.sources.jira.discovery import oauth_site, visible_projects

CONNECT = ConnectSpec(
    summary="Jira Cloud (an account email and API token, or OAuth 2.0) or Jira Server/Data "
            "Center (a username and password).",
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
                               "prompt).")),
    ), AuthMode(
        kind="oauth", trigger="oauth", provider="jira", prepare=oauth_site,
        options=(ConnectOption("--oauth", "oauth", "Jira Cloud through OAuth 2.0 (3LO): an "
                               "OAuth 2.0 integration of the Atlassian developer console with "
                               "the scopes read:jira-work and read:jira-user.", kind="flag"),
                 ConnectOption("--auth-code", "auth_code", "No browser here: paste the address "
                               "the browser was redirected to at a hidden prompt.",
                               kind="flag"),
                 ConnectOption("--oauth-url", "oauth_url", "Atlassian's authorization server "
                               "(default https://auth.atlassian.com).", kind="url"),
                 ConnectOption("--api-gateway", "api_gateway", "Atlassian's API gateway "
                               "(default https://api.atlassian.com).", kind="url")),
        secrets=(ConnectSecret("--client-id-env", "client_id", "OAuth client id",
                               "Environment variable holding the app's client id."),
                 ConnectSecret("--client-secret-env", "client_secret", "OAuth client secret",
                               "Environment variable holding the app's secret."))),
    ),
    discover=visible_projects,
    discover_key="projects",
    discover_all="all_projects",
)
