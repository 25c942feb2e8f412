"""Infrastructure export: the table as an ``AWS::DynamoDB::Table`` resource (CloudFormation, SAM).

The resource is made from the same CreateTable parameters ``db.create_table()`` sends
(:func:`~dyntable._internal.operations.tables.create_table_params`), renamed to CloudFormation's
property names, plus TTL (a separate call at creation, a property in CloudFormation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dyntable._internal.operations.tables import create_table_params, ttl_params
from dyntable.schema.table import TableSchema

__all__ = [
    "SAM_TRANSFORM",
    "create_params_of",
    "logical_id",
    "table_resource",
    "template",
    "to_yaml",
]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def logical_id(table: TableSchema) -> str:
    """A CloudFormation logical id from the table name: ``shop-orders`` -> ``ShopOrdersTable``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", table.name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + "Table"


def table_resource(table: TableSchema, *, table_name: str | None = None) -> dict[str, Any]:
    """The ``AWS::DynamoDB::Table`` resource for the declaration."""
    params = create_table_params(table)
    props: dict[str, Any] = {"TableName": table_name or params.pop("TableName")}
    params.pop("TableName", None)
    stream = params.pop("StreamSpecification", None)
    for name in ("KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                 "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if name in params:
            props[name] = params.pop(name)
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    ttl = ttl_params(table)
    if ttl is not None:
        props["TimeToLiveSpecification"] = ttl["TimeToLiveSpecification"]
    props.update(params)  # TableClass, DeletionProtectionEnabled, Tags: same names
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


def template(
    table: TableSchema, *, sam: bool = False, table_name: str | None = None
) -> dict[str, Any]:
    """A CloudFormation template (``sam``: with the SAM transform) holding the table."""
    lid = logical_id(table)
    out: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    if sam:
        out["Transform"] = SAM_TRANSFORM
    out["Description"] = f"DynamoDB table {table.name} (exported by dyntable)"
    out["Resources"] = {lid: table_resource(table, table_name=table_name)}
    outputs: dict[str, Any] = {"TableName": {"Value": {"Ref": lid}},
                               "TableArn": {"Value": {"Fn::GetAtt": [lid, "Arn"]}}}
    if table.stream:
        outputs["StreamArn"] = {"Value": {"Fn::GetAtt": [lid, "StreamArn"]}}
    out["Outputs"] = outputs
    return out


def to_yaml(document: Mapping[str, Any]) -> str:
    """YAML text of a template (needs PyYAML: the ``cli`` extra)."""
    import yaml

    return str(yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False))


def create_params_of(resource: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Back from a resource to (CreateTable parameters, TimeToLiveSpecification or None)."""
    props = dict(resource["Properties"])
    ttl = props.pop("TimeToLiveSpecification", None)
    stream = props.pop("StreamSpecification", None)
    if stream:
        props["StreamSpecification"] = {"StreamEnabled": True,
                                        "StreamViewType": stream["StreamViewType"]}
    return props, ttl
