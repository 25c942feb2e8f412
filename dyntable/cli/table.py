"""``dyntable table create | diff | sync``: the live table against its declaration."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.schema.table import TableSchema

__all__ = ["app_option", "connect", "connection_options", "region_connector", "table"]

C = TypeVar("C", bound=Callable[..., Any])


def app_option(f: C) -> C:
    """``--app module:attribute`` naming the application's Table."""
    return click.option(
        "--app", "app", required=True, envvar="DYNTABLE_APP",
        help="The table declaration, as module:attribute (env DYNTABLE_APP).",
    )(f)


def connection_options(f: C) -> C:
    """``--app``, ``--endpoint-url``, ``--region``, ``--table-name``."""
    f = click.option("--table-name", default=None,
                     help="Physical table name, when it differs from the declaration's.")(f)
    f = click.option("--region", default=None, envvar="AWS_REGION",
                     help="AWS region (default: the boto3 chain).")(f)
    f = click.option("--endpoint-url", default=None, envvar="DYNTABLE_ENDPOINT_URL",
                     help="DynamoDB endpoint, e.g. http://localhost:8000 for DynamoDB Local.")(f)
    return app_option(f)


def load_table(app: str) -> TableSchema:
    """The table declaration named by ``--app``."""
    from dyntable.migrations.app import load_app

    return load_app(app)


def connect(app: str, endpoint_url: str | None, region: str | None,
            table_name: str | None, **options: Any) -> Client:
    """A client of the ``--app`` table (errors become one-line CLI errors)."""
    from dyntable.client import Client
    from dyntable.errors import DyntableError

    table = load_table(app)
    try:
        return Client(table, endpoint_url=endpoint_url, region=region,
                      table_name=table_name, **options)
    except DyntableError:
        raise
    except Exception as exc:  # e.g. botocore's NoRegionError
        raise click.ClickException(f"cannot connect: {type(exc).__name__}: {exc}") from exc


def region_connector(app: str, endpoint_url: str | None,
                     table_name: str | None) -> Callable[[str], Client]:
    """Clients of the table's replicas: same options, another region (a replica's own
    settings are read and changed in its region)."""
    def connect_region(region: str) -> Client:
        return connect(app, endpoint_url, region, table_name)

    return connect_region


@click.group()
def table() -> None:
    """Create the table, or compare and sync it with its declaration (--app)."""


@table.command()
@connection_options
def create(app: str, endpoint_url: str | None, region: str | None,
           table_name: str | None) -> None:
    """Create the table from its declaration (keys, indexes, stream, TTL, settings,
    replicas one region at a time)."""
    db = connect(app, endpoint_url, region, table_name)
    if db.table_exists():
        raise click.ClickException(f"table {db.table_name} already exists "
                                   "(use 'dyntable table sync' to update it)")
    db.create_table(timeout=3600.0)
    click.echo(f"created table {db.table_name}")
    if db.table.replicas:  # each replica's own settings are set in its region
        from dyntable.migrations.sync import sync_table

        sync_table(db, echo=click.echo,
                   connect_region=region_connector(app, endpoint_url, table_name))


@table.command()
@connection_options
@click.option("--exit-code", is_flag=True, help="Exit with 1 when there are differences.")
def diff(app: str, endpoint_url: str | None, region: str | None, table_name: str | None,
         exit_code: bool) -> None:
    """Show how the live table differs from its declaration."""
    from dyntable.migrations.diff import diff_live

    result = diff_live(connect(app, endpoint_url, region, table_name),
                       connect_region=region_connector(app, endpoint_url, table_name))
    click.echo(str(result))
    if any(c.kind == "ttl" for c in result.changes):
        click.echo("note: TTL can be enabled or disabled only once per hour per table on AWS")
    if any(c.kind in ("add_replica", "remove_replica") for c in result.changes):
        click.echo("note: replicas are added or removed one per step; each can take minutes "
                   "to hours on a large table")
    if exit_code and not result.empty:
        raise SystemExit(1)


@table.command()
@connection_options
@click.option("--allow-destructive", is_flag=True,
              help="Allow dropping indexes, disabling the stream and removing replicas.")
@click.option("--timeout", type=float, default=3600.0, show_default=True,
              help="Seconds to wait for each step (index backfills can be slow).")
@click.option("--dry-run", is_flag=True, help="Only show the steps.")
def sync(app: str, endpoint_url: str | None, region: str | None, table_name: str | None,
         allow_destructive: bool, timeout: float, dry_run: bool) -> None:
    """Apply the differences: one GSI or replica per step, waiting for each to be ACTIVE
    (and backfilled)."""
    from dyntable.migrations.diff import diff_live
    from dyntable.migrations.sync import check_applicable, sync_table

    db = connect(app, endpoint_url, region, table_name)
    regional = region_connector(app, endpoint_url, table_name)
    if dry_run:
        planned = diff_live(db, connect_region=regional)
        click.echo(str(planned))
        check_applicable(planned, allow_destructive=allow_destructive)
        return
    done = sync_table(db, allow_destructive=allow_destructive, timeout=timeout,
                      echo=click.echo, connect_region=regional)
    if done.empty:
        click.echo(f"table {db.table_name}: already in sync")
    else:
        click.echo(f"table {db.table_name}: {len(done.changes)} step(s) applied")
    if any(c.kind == "ttl" for c in done.changes):
        click.echo("note: TTL can be enabled or disabled only once per hour per table on AWS")
