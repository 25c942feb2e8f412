"""``dyntable demo``: a short single-table walkthrough on an embedded or given endpoint."""

from __future__ import annotations

import click

__all__ = ["demo"]


@click.command()
@click.option("--endpoint-url", default=None,
              help="Run against this endpoint (DynamoDB Local, AWS...) instead of an embedded one.")
@click.option("--region", default=None, help="AWS region (default: the usual boto3 chain).")
@click.option("--embedded", type=click.Choice(["auto", "dynamodb-local", "moto"]), default="auto",
              show_default=True,
              help="Embedded server: DynamoDB Local when Java is there, else moto's server.")
def demo(endpoint_url: str | None, region: str | None, embedded: str) -> None:
    """Walk through single-table design: create, write, query, update, collections."""
    import os

    from dyntable.demo import demo_table, demo_table_name, run_demo

    server = None
    if endpoint_url is None:
        from dyntable.testing.embedded import start_embedded

        for var, value in (("AWS_ACCESS_KEY_ID", "demo"), ("AWS_SECRET_ACCESS_KEY", "demo")):
            os.environ.setdefault(var, value)
        click.echo("Starting an embedded DynamoDB endpoint...")
        server = start_embedded(embedded)  # type: ignore[arg-type]
        endpoint_url = server.endpoint_url
        note = f" ({server.reason})" if server.reason else ""
        click.echo(f"Using {server.description} at {endpoint_url}{note}")
        region = region or "us-east-1"
    try:
        db = demo_table.connect(endpoint_url=endpoint_url, region=region,
                                table_name=demo_table_name())
        counts = run_demo(db, click.echo)
        click.echo(f"Done: {counts['steps']} steps.")
    finally:
        if server is not None:
            server.stop()
