"""Infrastructure export: the table as CloudFormation (and SAM) resources.

A table without replicas is an ``AWS::DynamoDB::Table`` made from the same CreateTable
parameters ``db.create_table()`` sends
(:func:`~dyntable._internal.operations.tables.create_table_params`), renamed to
CloudFormation's property names, plus what are separate calls at creation: TTL and
point-in-time recovery. Auto scaling targets become ``AWS::ApplicationAutoScaling``
``ScalableTarget`` / ``ScalingPolicy`` resources (Application Auto Scaling, not DynamoDB).

A table with replicas is an ``AWS::DynamoDB::GlobalTable``: the settings DynamoDB keeps per
region (table class, KMS key, point-in-time recovery, tags, deletion protection, read
capacity) move into its ``Replicas`` list, whose first entry is the region the stack is
deployed in (``!Ref AWS::Region``); write capacity is auto scaled, as that resource
requires, and its auto scaling is part of the resource.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from dyntable._internal.operations.tables import create_table_params, ttl_params
from dyntable.schema.settings import AutoScaling, Replica
from dyntable.schema.table import GSI, TableSchema

__all__ = [
    "SAM_TRANSFORM",
    "create_params_of",
    "global_table_resource",
    "logical_id",
    "scaling_resources",
    "table_resource",
    "table_resources",
    "template",
    "to_yaml",
]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_TABLE_PROPS = ("KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def logical_id(table: TableSchema) -> str:
    """A CloudFormation logical id from the table name: ``shop-orders`` -> ``ShopOrdersTable``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", table.name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + "Table"


def _sse(spec: Mapping[str, Any], enabled_from: str, enabled_to: str) -> dict[str, Any]:
    """An SSESpecification renamed between the API (``Enabled``) and CloudFormation
    (``SSEEnabled``); the other fields have the same names in both."""
    out: dict[str, Any] = {enabled_to: bool(spec.get(enabled_from))}
    for name in ("SSEType", "KMSMasterKeyId"):
        if name in spec:
            out[name] = spec[name]
    return out


def _cfn_sse(spec: Mapping[str, Any]) -> dict[str, Any]:
    return _sse(spec, "Enabled", "SSEEnabled")


def _pitr(enabled: bool, days: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"PointInTimeRecoveryEnabled": enabled}
    if enabled and days is not None:
        out["RecoveryPeriodInDays"] = days
    return out


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def table_resource(table: TableSchema, *, table_name: str | None = None) -> dict[str, Any]:
    """The table resource: ``AWS::DynamoDB::GlobalTable`` when replicas are declared, else
    ``AWS::DynamoDB::Table`` (its auto scaling is in :func:`table_resources`)."""
    if table.replicas:
        return global_table_resource(table, table_name=table_name)
    params = create_table_params(table)
    props: dict[str, Any] = {"TableName": table_name or params.pop("TableName")}
    params.pop("TableName", None)
    stream = params.pop("StreamSpecification", None)
    sse = params.pop("SSESpecification", None)
    for name in _TABLE_PROPS:
        if name in params:
            props[name] = params.pop(name)
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    ttl = ttl_params(table)
    if ttl is not None:
        props["TimeToLiveSpecification"] = ttl["TimeToLiveSpecification"]
    if sse is not None:
        props["SSESpecification"] = _cfn_sse(sse)
    if table.point_in_time_recovery is not None:
        props["PointInTimeRecoverySpecification"] = _pitr(table.point_in_time_recovery,
                                                          table.recovery_period_days)
    props.update(params)  # TableClass, DeletionProtectionEnabled, OnDemandThroughput, Tags
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


# -- auto scaling ----------------------------------------------------------------------------


def _tracking(scaling: AutoScaling) -> dict[str, Any]:
    out: dict[str, Any] = {"TargetValue": float(scaling.target_utilization)}
    if scaling.scale_in_cooldown is not None:
        out["ScaleInCooldown"] = scaling.scale_in_cooldown
    if scaling.scale_out_cooldown is not None:
        out["ScaleOutCooldown"] = scaling.scale_out_cooldown
    if scaling.disable_scale_in:
        out["DisableScaleIn"] = True
    return out


def _scaling_pair(name: str, resource: Any, dimension: str,
                  scaling: AutoScaling) -> dict[str, Any]:
    kind = "Read" if dimension.endswith("ReadCapacityUnits") else "Write"
    target = f"{name}ScalableTarget"
    config = {**_tracking(scaling), "PredefinedMetricSpecification": {
        "PredefinedMetricType": f"DynamoDB{kind}CapacityUtilization"}}
    return {
        target: {"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                 "Properties": {"ServiceNamespace": "dynamodb", "ResourceId": resource,
                                "ScalableDimension": dimension,
                                "MinCapacity": scaling.min_capacity,
                                "MaxCapacity": scaling.max_capacity}},
        f"{name}ScalingPolicy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {"PolicyName": f"{name}ScalingPolicy",
                           "PolicyType": "TargetTrackingScaling",
                           "ScalingTargetId": {"Ref": target},
                           "TargetTrackingScalingPolicyConfiguration": config}},
    }


def scaling_resources(table: TableSchema, lid: str) -> dict[str, Any]:
    """Application Auto Scaling targets and target-tracking policies of a provisioned
    ``AWS::DynamoDB::Table`` (logical id ``lid``) and its GSIs (none for a global table,
    whose resource holds its own auto scaling)."""
    if table.replicas or table.billing_mode != "PROVISIONED":
        return {}
    out: dict[str, Any] = {}
    table_id = {"Fn::Join": ["/", ["table", {"Ref": lid}]]}
    for kind, scaling in (("Read", table.read_autoscaling), ("Write", table.write_autoscaling)):
        if scaling is not None:
            out.update(_scaling_pair(f"{lid}{kind}", table_id,
                                     f"dynamodb:table:{kind}CapacityUnits", scaling))
    for gsi in table.gsis:
        index_id = {"Fn::Join": ["/", ["table", {"Ref": lid}, "index", gsi.name]]}
        stem = lid + re.sub(r"[^A-Za-z0-9]", "", gsi.name)
        for kind, scaling in (("Read", gsi.read_autoscaling), ("Write", gsi.write_autoscaling)):
            if scaling is not None:
                out.update(_scaling_pair(f"{stem}{kind}", index_id,
                                         f"dynamodb:index:{kind}CapacityUnits", scaling))
    return out


# -- global tables ---------------------------------------------------------------------------


def _autoscaling_settings(scaling: AutoScaling, seed: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"MinCapacity": scaling.min_capacity,
                           "MaxCapacity": scaling.max_capacity,
                           "TargetTrackingScalingPolicyConfiguration": _tracking(scaling)}
    if seed is not None:
        out["SeedCapacity"] = seed
    return out


def _read_settings(scaling: AutoScaling | None, units: int | None) -> dict[str, Any]:
    if scaling is not None:
        return {"ReadCapacityAutoScalingSettings": _autoscaling_settings(scaling, units)}
    return {"ReadCapacityUnits": units or 1}


def _global_gsi(table: TableSchema, gsi: GSI, entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: entry[k] for k in ("IndexName", "KeySchema", "Projection")}
    if table.billing_mode == "PROVISIONED":
        scaling = gsi.write_autoscaling or table.write_autoscaling
        assert scaling is not None  # the declaration requires write auto scaling
        write = entry["ProvisionedThroughput"]["WriteCapacityUnits"]
        out["WriteProvisionedThroughputSettings"] = {
            "WriteCapacityAutoScalingSettings": _autoscaling_settings(scaling, write)}
    elif gsi.on_demand_throughput is not None and \
            gsi.on_demand_throughput.max_write_units is not None:
        out["WriteOnDemandThroughputSettings"] = {
            "MaxWriteRequestUnits": gsi.on_demand_throughput.max_write_units}
    return out


def _replica_gsis(table: TableSchema, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for gsi, entry in zip(table.gsis, entries, strict=True):
        spec: dict[str, Any] = {"IndexName": gsi.name}
        if table.billing_mode == "PROVISIONED":
            spec["ReadProvisionedThroughputSettings"] = _read_settings(
                gsi.read_autoscaling, entry["ProvisionedThroughput"]["ReadCapacityUnits"])
        elif gsi.on_demand_throughput is not None and \
                gsi.on_demand_throughput.max_read_units is not None:
            spec["ReadOnDemandThroughputSettings"] = {
                "MaxReadRequestUnits": gsi.on_demand_throughput.max_read_units}
        if len(spec) > 1:
            out.append(spec)
    return out


def _replica_spec(table: TableSchema, region: Any, replica: Replica | None,
                  gsis: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``Replicas`` entry: ``replica`` is ``None`` for the region deployed to."""
    spec: dict[str, Any] = {"Region": region}
    own = replica
    table_class = table.replica_table_class(own)
    if table_class:
        spec["TableClass"] = table_class
    if table.replica_deletion_protection(own):
        spec["DeletionProtectionEnabled"] = True
    pitr = table.replica_pitr(own)
    if pitr is not None:
        spec["PointInTimeRecoverySpecification"] = _pitr(pitr, table.recovery_period_days)
    enc = table.encryption
    if enc is not None and enc.kind == "CUSTOMER_MANAGED":
        spec["SSESpecification"] = {"KMSMasterKeyId": (own and own.kms_key) or enc.kms_key}
    if table.billing_mode == "PROVISIONED":
        if replica is not None and (replica.read_capacity or replica.read_autoscaling):
            spec["ReadProvisionedThroughputSettings"] = _read_settings(
                replica.read_autoscaling, replica.read_capacity)
        else:
            spec["ReadProvisionedThroughputSettings"] = _read_settings(
                table.read_autoscaling, table.read_capacity)
    else:
        max_read = (own and own.max_read_units) or (
            table.on_demand_throughput.max_read_units if table.on_demand_throughput else None)
        if max_read is not None:
            spec["ReadOnDemandThroughputSettings"] = {"MaxReadRequestUnits": max_read}
    if gsis:
        spec["GlobalSecondaryIndexes"] = copy.deepcopy(gsis)  # no YAML aliases
    tags = table.replica_tags(own)
    if tags:
        spec["Tags"] = _tags(tags)
    return spec


def global_table_resource(table: TableSchema, *,
                          table_name: str | None = None) -> dict[str, Any]:
    """The ``AWS::DynamoDB::GlobalTable`` resource of a declaration with replicas."""
    params = create_table_params(table)
    props: dict[str, Any] = {"TableName": table_name or table.name,
                             "KeySchema": params["KeySchema"],
                             "AttributeDefinitions": params["AttributeDefinitions"],
                             "BillingMode": table.billing_mode}
    entries = params.get("GlobalSecondaryIndexes") or []
    if table.gsis:
        props["GlobalSecondaryIndexes"] = [_global_gsi(table, g, e)
                                           for g, e in zip(table.gsis, entries, strict=True)]
    if "LocalSecondaryIndexes" in params:
        props["LocalSecondaryIndexes"] = params["LocalSecondaryIndexes"]
    props["StreamSpecification"] = {"StreamViewType": table.stream}
    ttl = ttl_params(table)
    if ttl is not None:
        props["TimeToLiveSpecification"] = ttl["TimeToLiveSpecification"]
    if table.encryption is not None:
        sse = _cfn_sse(params["SSESpecification"])
        sse.pop("KMSMasterKeyId", None)  # per replica
        props["SSESpecification"] = sse
    if table.billing_mode == "PROVISIONED":
        assert table.write_autoscaling is not None  # the declaration requires it
        props["WriteProvisionedThroughputSettings"] = {
            "WriteCapacityAutoScalingSettings": _autoscaling_settings(
                table.write_autoscaling, table.write_capacity)}
    elif table.on_demand_throughput is not None and \
            table.on_demand_throughput.max_write_units is not None:
        props["WriteOnDemandThroughputSettings"] = {
            "MaxWriteRequestUnits": table.on_demand_throughput.max_write_units}
    gsis = _replica_gsis(table, entries)
    props["Replicas"] = [_replica_spec(table, {"Ref": "AWS::Region"}, None, gsis),
                         *(_replica_spec(table, r.region, r, gsis) for r in table.replicas)]
    return {"Type": "AWS::DynamoDB::GlobalTable", "Properties": props}


def table_resources(table: TableSchema, *, table_name: str | None = None,
                    lid: str | None = None) -> dict[str, Any]:
    """Every resource of the table by logical id: the table (``lid``, default
    :func:`logical_id`) and, for a provisioned ``AWS::DynamoDB::Table``, its auto scaling."""
    lid = lid or logical_id(table)
    return {lid: table_resource(table, table_name=table_name),
            **scaling_resources(table, lid)}


def template(
    table: TableSchema, *, sam: bool = False, table_name: str | None = None
) -> dict[str, Any]:
    """A CloudFormation template (``sam``: with the SAM transform) holding the table."""
    lid = logical_id(table)
    out: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    if sam:
        out["Transform"] = SAM_TRANSFORM
    out["Description"] = f"DynamoDB table {table.name} (exported by dyntable)"
    out["Resources"] = table_resources(table, table_name=table_name, lid=lid)
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


# -- back to CreateTable -----------------------------------------------------------------------


def _api_sse(sse: Mapping[str, Any]) -> dict[str, Any]:
    return _sse(sse, "SSEEnabled", "Enabled")


def create_params_of(resource: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Back from a resource to (CreateTable parameters, TimeToLiveSpecification or None).

    Point-in-time recovery and replicas are not CreateTable parameters and are left out; for
    a GlobalTable the CreateTable parameters are those of the replica in the deployed region.
    """
    if resource.get("Type") == "AWS::DynamoDB::GlobalTable":
        return _global_create_params(resource)
    props = dict(resource["Properties"])
    ttl = props.pop("TimeToLiveSpecification", None)
    props.pop("PointInTimeRecoverySpecification", None)
    stream = props.pop("StreamSpecification", None)
    if stream:
        props["StreamSpecification"] = {"StreamEnabled": True,
                                        "StreamViewType": stream["StreamViewType"]}
    if "SSESpecification" in props:
        props["SSESpecification"] = _api_sse(props["SSESpecification"])
    return props, ttl


def _seeded(settings: Mapping[str, Any], auto: str, units: str) -> int:
    scaling = settings.get(auto)
    if scaling is not None:
        return int(scaling.get("SeedCapacity") or scaling["MinCapacity"])
    return int(settings[units])


def _global_create_params(resource: Mapping[str, Any]
                          ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    props = resource["Properties"]
    home = props["Replicas"][0]
    provisioned = props.get("BillingMode") == "PROVISIONED"
    out: dict[str, Any] = {k: props[k] for k in ("TableName", "KeySchema",
                                                 "AttributeDefinitions", "BillingMode")}
    out.update(_api_throughput(props, home, provisioned))
    replica_gsis = {g["IndexName"]: g for g in home.get("GlobalSecondaryIndexes") or []}
    if props.get("GlobalSecondaryIndexes"):
        out["GlobalSecondaryIndexes"] = [_api_gsi(g, replica_gsis.get(g["IndexName"], {}),
                                                  provisioned)
                                         for g in props["GlobalSecondaryIndexes"]]
    if props.get("LocalSecondaryIndexes"):
        out["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    out["StreamSpecification"] = {"StreamEnabled": True,
                                  "StreamViewType": props["StreamSpecification"][
                                      "StreamViewType"]}
    if "TableClass" in home:
        out["TableClass"] = home["TableClass"]
    if home.get("DeletionProtectionEnabled"):
        out["DeletionProtectionEnabled"] = True
    if "SSESpecification" in props:
        sse = _api_sse(props["SSESpecification"])
        if "SSESpecification" in home:
            sse["KMSMasterKeyId"] = home["SSESpecification"]["KMSMasterKeyId"]
        out["SSESpecification"] = sse
    if home.get("Tags"):
        out["Tags"] = home["Tags"]
    return out, props.get("TimeToLiveSpecification")


def _api_gsi(gsi: Mapping[str, Any], replica: Mapping[str, Any],
             provisioned: bool) -> dict[str, Any]:
    out = {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")}
    out.update(_api_throughput(gsi, replica, provisioned))
    return out


def _api_throughput(writes: Mapping[str, Any], reads: Mapping[str, Any],
                    provisioned: bool) -> dict[str, Any]:
    """ProvisionedThroughput or OnDemandThroughput of a table or GSI of a GlobalTable: its
    write settings are global (``writes``), its read settings per replica (``reads``)."""
    if provisioned:
        return {"ProvisionedThroughput": {
            "ReadCapacityUnits": _seeded(reads["ReadProvisionedThroughputSettings"],
                                         "ReadCapacityAutoScalingSettings",
                                         "ReadCapacityUnits"),
            "WriteCapacityUnits": _seeded(writes["WriteProvisionedThroughputSettings"],
                                          "WriteCapacityAutoScalingSettings", "")}}
    on_demand = dict(writes.get("WriteOnDemandThroughputSettings") or {})
    if "ReadOnDemandThroughputSettings" in reads:
        on_demand = {"MaxReadRequestUnits": reads["ReadOnDemandThroughputSettings"][
            "MaxReadRequestUnits"], **on_demand}
    return {"OnDemandThroughput": on_demand} if on_demand else {}
