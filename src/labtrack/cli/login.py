"""``labtrack login``."""

from __future__ import annotations

import click

from ._common import handle_errors


@click.command()
@click.argument("url")
@click.option("--key", envvar="LABTRACK_API_KEY", default=None,
              help="The API key (asked for, hidden, when not given).")
@click.option("--no-verify", is_flag=True, help="Do not check the key against the server.")
@handle_errors
def login(url: str, key: str | None, no_verify: bool) -> None:
    """Store a team server URL and API key for this user (file mode 0600).

    After this, labtrack.init() logs to the server with no code change.
    Ask the server admin for a key: labtrack server key create USER.
    """
    from .. import credentials
    from ..store.http import HTTPStore

    url = url.rstrip("/")
    if key is None:
        key = click.prompt("API key", hide_input=True)
    if not no_verify:
        store = HTTPStore(url, key)
        try:
            who = store._request("GET", "/auth/me")
        finally:
            store.close()
        click.echo(f"Logged in to {url} as {who.get('user')}.")
    path = credentials.save(url, key)
    click.echo(f"Saved the URL and key to {path} (readable by you only).")
