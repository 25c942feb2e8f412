"""``dyntable export sam | cloudformation | iam``: the table or application as infrastructure
as code, and a function's least-privilege IAM policy."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


def _export(app: str, table_name: str | None, output: Path | None, sam: bool,
            migration: dict[str, Any] | None = None) -> None:
    from dyntable.migrations.export import template, to_yaml

    if not sam:
        _write(to_yaml(template(load_table(app), sam=False, table_name=table_name)), output)
        return
    from dyntable.deploy.app import Application
    from dyntable.deploy.loading import load_target
    from dyntable.deploy.sam import application_template

    target = load_target(app)
    extra = _migration_resources(app, target, **migration) if migration else None
    if isinstance(target, Application):
        doc = application_template(target, table_name=table_name, migrations=extra)
    else:
        doc = template(target, sam=True, table_name=table_name)
        for part in ("Parameters", "Resources", "Outputs"):
            if extra and extra.get(part):
                doc.setdefault(part, {}).update(extra[part])
    _write(to_yaml(doc), output)


def _migration_resources(app: str, target: Any, *, name: str, table_app: str | None,
                         migrations_dir: str) -> dict[str, Any]:
    """The Step Functions resources running migration ``name`` (``--migration``)."""
    from dyntable.deploy.app import Application

    try:
        from dyntable.deploy.stepfunctions import migration_resources
    except ImportError as exc:  # pragma: no cover - the module ships with dyntable
        raise click.ClickException(
            f"--migration needs dyntable.deploy.stepfunctions: {exc}") from exc
    table = target.table if isinstance(target, Application) else target
    code_uri = target.functions[0].code_uri if isinstance(target, Application) and \
        target.functions else "."
    table_app = table_app or (_table_spec(app, table) if isinstance(target, Application)
                              else app)
    return dict(migration_resources(table, name, app=table_app, migrations_dir=migrations_dir,
                                    code_uri=code_uri))


def _table_spec(app: str, table: Any) -> str:
    """``module:attribute`` of ``table``: where its models live, else in the --app module."""
    import sys

    modules = [*sorted({m.__module__ for m in table.models.values()}), app.partition(":")[0]]
    for name in modules:
        for attr, value in vars(sys.modules.get(name, object())).items():
            if value is table and not attr.startswith("_"):
                return f"{name}:{attr}"
    raise click.UsageError("cannot tell the table's module:attribute: give --migration-app")


_table_name = click.option("--table-name", default=None,
                           help="TableName in the template (default: the declaration's).")
_output = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                       default=None, help="Write to this file instead of stdout.")


@click.group()
def export() -> None:
    """Export the table or application: a SAM or CloudFormation template (YAML), a
    function's IAM policy (JSON), or the table as a NoSQL Workbench data model."""


@export.command()
@app_option
@_table_name
@_output
@click.option("--migration", default=None,
              help="Add the Step Functions resources running this data migration (its id).")
@click.option("--migration-app", default=None,
              help="module:attribute of the Table in the functions' code (default: found "
                   "from --app).")
@click.option("--migrations-dir", default="migrations", show_default=True,
              help="The migration files' directory in the functions' code.")
def sam(app: str, table_name: str | None, output: Path | None, migration: str | None,
        migration_app: str | None, migrations_dir: str) -> None:
    """A SAM template (Transform: AWS::Serverless-2016-10-31): with --app naming a Table, the
    table alone; naming a dyntable.deploy.Application, the whole application (table,
    functions and their policies, API with Cognito authorizer, stream mapping, outputs)."""
    options = None if migration is None else {
        "name": migration, "table_app": migration_app, "migrations_dir": migrations_dir}
    _export(app, table_name, output, sam=True, migration=options)


@export.command()
@app_option
@_table_name
@_output
def cloudformation(app: str, table_name: str | None, output: Path | None) -> None:
    """A CloudFormation template with the table."""
    _export(app, table_name, output, sam=False)


# ``dyntable export workbench``: the design as a NoSQL Workbench data model (cli/design.py).
export.add_command(_workbench, "workbench")


@export.command()
@app_option
@click.option("--function", "function", required=True, help="The function's name.")
@click.option("--region", default=None, help="Region of the table's ARN (env AWS_REGION).")
@click.option("--account-id", default=None, envvar="AWS_ACCOUNT_ID",
              help="Account of the table's ARN (env AWS_ACCOUNT_ID).")
@click.option("--partition", default="aws", show_default=True, help="ARN partition.")
@click.option("--stream-label", default=None,
              help="The stream ARN's label (default: any stream of the table).")
@_table_name
@click.option("--document", type=click.Choice(["data", "execution", "trust"]), default="data",
              show_default=True,
              help="data: the function's DynamoDB policy (the tenant role's, under "
                   "tenant isolation); execution / trust: the function role's policy and the "
                   "tenant role's trust policy of the assume-role pattern.")
@click.option("--tenant-role-arn", default=None, help="The tenant role (--document execution).")
@_output
def iam(app: str, function: str, region: str | None, account_id: str | None,
        partition: str, stream_label: str | None, table_name: str | None, document: str,
        tenant_role_arn: str | None, output: Path | None) -> None:
    """The least-privilege IAM policy (JSON) of one function of an Application."""
    from dyntable.deploy.iam import (
        LiteralArns,
        execution_policy,
        policy_document,
        tenant_trust_policy,
    )
    from dyntable.deploy.loading import load_application

    application = load_application(app)
    fn = application.function(function)
    doc: dict[str, Any]
    if document == "data":
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region or not account_id:
            raise click.UsageError("the table's ARN needs --region and --account-id")
        arns = LiteralArns(table_name or application.table.name, region, account_id,
                           partition=partition, stream_label=stream_label)
        doc = policy_document(application, fn, arns)
    elif fn.tenant is None:
        raise click.UsageError(f"function {function!r} is not tenant-isolated: it has only "
                               "the data policy")
    elif document == "execution":
        if not tenant_role_arn:
            raise click.UsageError("--document execution needs --tenant-role-arn")
        doc = execution_policy(tenant_role_arn)
    else:
        if not account_id:
            raise click.UsageError("the trust policy needs --account-id")
        doc = tenant_trust_policy(fn.tenant, f"arn:{partition}:iam::{account_id}:root")
    _write(json.dumps(doc, indent=2) + "\n", output)
