"""What an Azure DevOps Services connection needs: the organization URL, its projects, and a
personal access token with read scopes only."""

from resources.sources.connect import ConnectOption, ConnectSecret, ConnectSpec

CONNECT = ConnectSpec(
    summary="Azure DevOps Services (a personal access token with read scopes only: Code "
            "(Read), Build (Read) and Work Items (Read); User settings → Personal access "
            "tokens → New Token → Custom defined).",
    examples=("AZUREDEVOPS_PAT=... sieve connect acme azuredevops "
              "--base-url https://dev.azure.com/acme "
              "--projects Payments,Platform --token-env AZUREDEVOPS_PAT",),
    options=(
        ConnectOption("--base-url", "base_url", "Organization URL, e.g. "
                      "https://dev.azure.com/acme (or https://acme.visualstudio.com).",
                      kind="url", required=True),
        ConnectOption("--projects", "projects", "Comma-separated project names to read.",
                      kind="list", required=True),
    ),
    secrets=(ConnectSecret("--token-env", "token", "Azure DevOps personal access token",
                           "Environment variable holding the personal access token."),),
)
