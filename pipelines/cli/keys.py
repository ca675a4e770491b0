"""``sieve keys …``: the key-encryption key."""

from __future__ import annotations

import click

from pipelines.cli.context import installation_admin
from resources.security.keys import EnvKeyProvider, FileKeyProvider, encode_key, generate_key


@click.group()
def keys() -> None:
    """The key-encryption key (KEK) that wraps every credential and data key.

    \b
    Examples:
      sieve keys rotate
      export SIEVE_MASTER_KEY=$(sieve keys generate)
    """


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random key (base64) for SIEVE_MASTER_KEY or a secret store.

    \b
    Example:
      export SIEVE_MASTER_KEY=$(sieve keys generate)
    """
    click.echo(encode_key(generate_key().material))


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Introduce a new KEK and re-wrap every secret under it; afterwards the old key is no
    longer needed. An interrupted rotation is finished by running this again.

    With a key file, the new key is generated and the old one retired from the file. With
    SIEVE_MASTER_KEY, set it to the new key and SIEVE_PREVIOUS_MASTER_KEYS to the old one,
    run this, then drop SIEVE_PREVIOUS_MASTER_KEYS.

    \b
    Example:
      sieve keys rotate
    """
    sieve, _ = installation_admin(ctx)
    provider = sieve.keys()
    control_plane = sieve.control_plane
    if isinstance(provider, FileKeyProvider):
        if len(provider.all_keys()) > 1:
            click.echo(f"resuming an unfinished rotation to key {provider.current().kek_id}")
        else:
            new_key = provider.add_new_key()
            click.echo(f"new key {new_key.kek_id} added to {provider.path}")
    counts = control_plane.rewrap_all(provider)
    current = provider.current().kek_id
    still_old = control_plane.kek_ids_in_use() - {current, None}
    if still_old:
        raise click.ClickException(f"Secrets under keys {sorted(still_old)} remain; run "
                                   "`sieve keys rotate` again.")
    retired: list[str] = []
    if isinstance(provider, FileKeyProvider):
        retired = provider.retire_all_but_current()
    elif isinstance(provider, EnvKeyProvider):
        retired = [k.kek_id for k in provider.retired_keys()]
    sieve.audit.append("keys.rotated", details={"new_key": current, "retired_keys": retired,
                                                **counts})
    click.echo(f"rotation complete: {counts['rewrapped']} re-wrapped, "
               f"{counts['already_current']} already under key {current}")
    if isinstance(provider, EnvKeyProvider) and retired:
        click.echo("the previous keys are no longer needed: remove SIEVE_PREVIOUS_MASTER_KEYS")
