"""What a local git connection needs: the path of a clone (no credentials)."""

from pathlib import Path

from resources.sources.connect import ConnectOption, ConnectSettingsError, ConnectSpec


def resolve_clone(settings: dict) -> None:
    path = Path(settings["path"]).expanduser().resolve()
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        raise ConnectSettingsError(f"--path {path}: not a git repository (no .git found there).")
    settings["path"] = str(path)


CONNECT = ConnectSpec(
    summary="A plain git repository on this machine (no credentials).",
    examples=("sieve connect acme git --path ~/src/payments",),
    options=(ConnectOption("--path", "path", "A local clone; only commit metadata is read "
                           "from it.", kind="directory", required=True),),
    validate=resolve_clone,
)
