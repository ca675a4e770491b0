"""A plain-``requests`` GET against any emulated API, authenticated the way each service wants."""

from __future__ import annotations

import requests


def get(emu, api: str, path: str, **params) -> requests.Response:
    creds = emu.credentials(api)
    headers, auth = {}, None
    if api == "github":
        headers["Authorization"] = f"token {creds['token']}"
    elif api == "gitlab":
        headers["PRIVATE-TOKEN"] = creds["token"]
    elif api in ("slack", "bitbucket"):
        headers["Authorization"] = f"Bearer {creds['token']}"
    elif api == "pagerduty":
        headers["Authorization"] = f"Token token={creds['token']}"
    elif api == "opsgenie":
        headers["Authorization"] = f"GenieKey {creds['api_key']}"
    elif api == "azuredevops":
        auth = ("", creds["token"])
        params.setdefault("api-version", "7.1")
    else:
        auth = (creds["email"], creds["token"])
    return requests.get(emu.base_url(api) + path, params=params, headers=headers, auth=auth, timeout=30)
