"""``dyntable export sam | cloudformation``: the table as infrastructure as code."""

from __future__ import annotations

from pathlib import Path

import click

from dyntable.cli.design import workbench as _workbench
from dyntable.cli.table import app_option, load_table

__all__ = ["export"]


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)


def _export(app: str, table_name: str | None, output: Path | None, sam: bool) -> None:
    from dyntable.migrations.export import template, to_yaml

    _write(to_yaml(template(load_table(app), sam=sam, table_name=table_name)), output)


_table_name = click.option("--table-name", default=None,
                           help="TableName in the template (default: the declaration's).")
_output = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                       default=None, help="Write to this file instead of stdout.")


@click.group()
def export() -> None:
    """Export the table: as an AWS::DynamoDB::Table resource in a SAM or CloudFormation
    template (YAML), or as a NoSQL Workbench data model."""


@export.command()
@app_option
@_table_name
@_output
def sam(app: str, table_name: str | None, output: Path | None) -> None:
    """A SAM template (Transform: AWS::Serverless-2016-10-31) with the table."""
    _export(app, table_name, output, sam=True)


@export.command()
@app_option
@_table_name
@_output
def cloudformation(app: str, table_name: str | None, output: Path | None) -> None:
    """A CloudFormation template with the table."""
    _export(app, table_name, output, sam=False)


# ``dyntable export workbench``: the design as a NoSQL Workbench data model (cli/design.py).
export.add_command(_workbench, "workbench")
