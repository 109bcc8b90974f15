"""``labtrack server``: run the team server and manage its users, keys and members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import handle_errors, json_option, print_json


def _open(ctx: click.Context) -> tuple[Any, Any, Any]:
    from ..blobs.s3 import open_blobs
    from ..settings import Settings
    from ..store import open_store

    opts = ctx.find_object(dict) or {}
    db = opts["db"]
    if not db:
        raise click.UsageError("give --db (postgresql://... or a directory) or LABTRACK_SERVER_DB")
    store = open_store(db)
    settings = Settings()
    data = Path(opts["data"]).expanduser()
    settings.dir = data
    blobs_uri = opts["blobs"] or (str(Path(db) / "blobs") if "://" not in db
                                  else str(data / "blobs"))
    return store, open_blobs(blobs_uri), settings


def _auth(ctx: click.Context) -> Any:
    """The auth service over the server's store (users, keys, members)."""
    from ..server.auth import AuthService

    store, _, _ = _open(ctx)
    return AuthService(store)


@click.group(invoke_without_command=True)
@click.option("--db", envvar="LABTRACK_SERVER_DB",
              help="postgresql://user@host/db, or a directory for SQLite "
                   "[env LABTRACK_SERVER_DB].")
@click.option("--blobs", envvar="LABTRACK_SERVER_BLOBS",
              help="s3://bucket/prefix or a directory [env LABTRACK_SERVER_BLOBS; default "
                   "<db dir>/blobs or <data>/blobs].")
@click.option("--data", envvar="LABTRACK_SERVER_DATA", default="~/.labtrack-server",
              show_default=True, help="Local working directory of the server.")
@click.option("--host", envvar="LABTRACK_SERVER_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on.")
@click.option("--port", envvar="LABTRACK_SERVER_PORT", default=8080, show_default=True,
              type=int, help="Port to listen on.")
@click.pass_context
def server(ctx: click.Context, db: str | None, blobs: str | None, data: str, host: str,
           port: int) -> None:
    """Run the team server (authentication on), or manage it with a subcommand.

    Schema migrations run at start. Users log in with `labtrack login URL`.
    """
    ctx.obj = {"db": db, "blobs": blobs, "data": data}
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from ..server.team import create_team_app

    store, blob_store, settings = _open(ctx)
    app = create_team_app(store, blob_store, settings=settings)
    click.echo(f"labtrack team server on http://{host}:{port} (store {store.where})")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@server.command()
@click.pass_context
@handle_errors
def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations and exit."""
    store, _, _ = _open(ctx)
    click.echo(f"Schema up to date ({store.where}).")


@server.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Server admin: every project, every action.")
@click.option("--password", is_flag=True, help="Also set a password for the web login.")
@click.pass_context
@handle_errors
def user_add(ctx: click.Context, name: str, admin: bool, password: bool) -> None:
    """Add user NAME."""
    auth = _auth(ctx)  # a bad --db fails before the password prompt
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) \
        if password else None
    auth.add_user(name, admin=admin, password=secret)
    click.echo(f"Added user {name}{' (admin)' if admin else ''}.")


@user.command("passwd")
@click.argument("name")
@click.pass_context
@handle_errors
def user_passwd(ctx: click.Context, name: str) -> None:
    """Set the web login password of NAME."""
    auth = _auth(ctx)
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    auth.set_password(name, secret)
    click.echo("Password set.")


@user.command("ls")
@json_option
@click.pass_context
@handle_errors
def user_ls(ctx: click.Context, as_json: bool) -> None:
    """List users."""
    rows = _auth(ctx).users()
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}{'  (admin)' if row['is_admin'] else ''}")


@server.group()
def key() -> None:
    """Manage API keys (stored hashed; shown once)."""


@key.command("create")
@click.argument("user_name")
@click.option("--label", help="A note to recognise the key by.")
@click.pass_context
@handle_errors
def key_create(ctx: click.Context, user_name: str, label: str | None) -> None:
    """Create an API key for USER_NAME and print it (only this once)."""
    click.echo(_auth(ctx).create_key(user_name, label))


@key.command("ls")
@click.argument("user_name")
@json_option
@click.pass_context
@handle_errors
def key_ls(ctx: click.Context, user_name: str, as_json: bool) -> None:
    """List the keys of USER_NAME (prefixes only)."""
    rows = _auth(ctx).keys(user_name)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['prefix']}…  {row['label'] or ''}"
                   f"{'  (revoked)' if row['revoked'] else ''}")


@key.command("revoke")
@click.argument("prefix")
@click.pass_context
@handle_errors
def key_revoke(ctx: click.Context, prefix: str) -> None:
    """Revoke the key starting with PREFIX."""
    _auth(ctx).revoke_key(prefix)
    click.echo("Key revoked.")


@server.group()
def member() -> None:
    """Manage project members and their roles (admin, writer, reader)."""


@member.command("set")
@click.argument("project")
@click.argument("user_name")
@click.argument("role", type=click.Choice(["admin", "writer", "reader", "none"]))
@click.pass_context
@handle_errors
def member_set(ctx: click.Context, project: str, user_name: str, role: str) -> None:
    """Give USER_NAME ROLE in PROJECT ('none' removes them)."""
    _auth(ctx).set_role(project, user_name, None if role == "none" else role)
    click.echo(f"{user_name} is now {role} of {project}.")


@member.command("ls")
@click.argument("project")
@json_option
@click.pass_context
@handle_errors
def member_ls(ctx: click.Context, project: str, as_json: bool) -> None:
    """List the members of PROJECT."""
    rows = _auth(ctx).members(project)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['user']}  {row['role']}")
