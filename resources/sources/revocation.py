"""Revoking a connection's credential at the service before its sealed secrets are wiped,
where the service offers a way to (``sieve disconnect``)."""

from __future__ import annotations

from resources.errors import SieveError
from resources.security.vault import Secret
from resources.sources.credentials import auth_kind, github_app_client


def revoke_at_source(source: str, settings: dict, credentials: dict[str, Secret]) -> str:
    """What was revoked, or why nothing was, in words for the deletion certificate. Never
    raises for the service's refusal: the secrets are wiped either way."""
    kind = auth_kind(settings)
    try:
        if kind == "oauth":
            from resources.http.oauth import PROVIDERS, auth_root, revoke

            provider = PROVIDERS[source]
            revoke(provider, auth_root(provider, settings), credentials["client_id"].reveal(),
                   credentials["client_secret"].reveal(), credentials["refresh_token"].reveal())
            return "revoked: the OAuth grant's refresh token was revoked at the provider"
        if kind == "github_app":
            client = github_app_client(settings, credentials)
            token = client.mint_installation_token(settings["installation_id"])
            client.revoke_installation_token(token.value)
            return ("revoked: installation tokens end with the run that minted them; the last "
                    "one was revoked (uninstall the app to remove its access entirely)")
    except SieveError as error:
        return f"not revoked: {str(error).rstrip('.')}"
    return (f"not revoked: a {kind} credential cannot be revoked through the API; delete it "
            "where it was created")
