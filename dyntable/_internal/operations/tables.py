"""Table-level requests built from a :class:`~dyntable.schema.table.Table` declaration.

Key attribute types: ``Table(attribute_types=...)`` says; otherwise the attributes of native
multi-attribute GSI keys take the type of the model fields they are (N for int, float,
Decimal and int enums/literals, B for bytes, S for str, datetime, date, UUID, str enums), read
from the models registered on the table: declare the models before creating the table.
Every other key attribute is S.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dyntable._internal.codec.fields import field_kind
from dyntable._internal.operations.flow import Flow, Request, Sleep
from dyntable._internal.operations.retry import Deadline
from dyntable._internal.operations.send import send
from dyntable.errors import (
    DeclarationError,
    InvalidRequestError,
    ServiceError,
    TableNotFoundError,
    WaitTimeoutError,
)
from dyntable.schema.settings import Encryption, OnDemandThroughput, Replica
from dyntable.schema.table import GSI, LSI, AttributeType, TableSchema

__all__ = [
    "apply_settings_flow",
    "attribute_definitions",
    "create_table_flow",
    "create_table_params",
    "delete_table_flow",
    "describe_flow",
    "enable_ttl_flow",
    "home_region",
    "index_projection",
    "is_dynamodb_local",
    "key_attribute_type",
    "native_key_types",
    "on_demand_params",
    "pitr_params",
    "replica_active_flow",
    "replica_create_params",
    "replica_delete_params",
    "replica_settings",
    "replica_update_params",
    "sse_specification",
    "table_exists_flow",
    "ttl_params",
    "wait_active_flow",
]

log = logging.getLogger("dyntable.tables")

_TEXT_TYPES = (str, dt.datetime, dt.date, dt.time, uuid.UUID)


def index_projection(table: TableSchema, index: GSI | LSI) -> dict[str, Any]:
    """The Projection of an index; INCLUDE projections always carry the entity attribute."""
    if index.projection_type != "INCLUDE":
        return {"ProjectionType": index.projection_type}
    names = list(dict.fromkeys([*index.include, table.entity_attribute]))
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": names}


def _key_schema(pk: tuple[str, ...], sk: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"AttributeName": a, "KeyType": "HASH"} for a in pk] + [
        {"AttributeName": a, "KeyType": "RANGE"} for a in sk
    ]


def _throughput(read: int | None, write: int | None) -> dict[str, int]:
    return {"ReadCapacityUnits": int(read or 1), "WriteCapacityUnits": int(write or 1)}


def gsi_definition(table: TableSchema, gsi: GSI) -> dict[str, Any]:
    """One GlobalSecondaryIndexes entry."""
    entry: dict[str, Any] = {
        "IndexName": gsi.name,
        "KeySchema": _key_schema(gsi.pk_attrs, gsi.sk_attrs),
        "Projection": index_projection(table, gsi),
    }
    if table.billing_mode == "PROVISIONED":
        read = gsi.read_capacity or (gsi.read_autoscaling.min_capacity if gsi.read_autoscaling
                                     else table.read_capacity)
        write = gsi.write_capacity or (gsi.write_autoscaling.min_capacity
                                       if gsi.write_autoscaling else table.write_capacity)
        entry["ProvisionedThroughput"] = _throughput(read, write)
    elif gsi.on_demand_throughput is not None:
        entry["OnDemandThroughput"] = on_demand_params(gsi.on_demand_throughput)
    return entry


def on_demand_params(limits: OnDemandThroughput | None, *, both: bool = False
                     ) -> dict[str, int]:
    """An OnDemandThroughput value: the declared maxima; with ``both`` (updates), -1 (no
    maximum) for an undeclared side, and for both sides when ``limits`` is ``None``."""
    out: dict[str, int] = {}
    read = limits.max_read_units if limits is not None else None
    write = limits.max_write_units if limits is not None else None
    for name, value in (("MaxReadRequestUnits", read), ("MaxWriteRequestUnits", write)):
        if value is not None:
            out[name] = int(value)
        elif both:
            out[name] = -1
    return out


def sse_specification(encryption: Encryption) -> dict[str, Any]:
    """CreateTable / UpdateTable's SSESpecification for ``encryption``."""
    if encryption.kind == "AWS_OWNED":
        return {"Enabled": False}
    spec: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if encryption.kms_key:
        spec["KMSMasterKeyId"] = encryption.kms_key
    return spec


def _values_type(values: tuple[Any, ...]) -> AttributeType | None:
    """The key type of a Literal's or Enum's values: all str -> S, all int -> N."""
    if values and all(type(v) is str for v in values):
        return "S"
    if values and all(type(v) is int for v in values):
        return "N"
    return None


def key_attribute_type(annotation: Any) -> AttributeType | None:
    """The DynamoDB key type values of ``annotation`` are stored as (``Optional`` unwrapped).

    ``None`` when such values cannot be a key attribute (bool, containers, sub-models, unions
    of several types).
    """
    kind = field_kind(annotation)
    base = kind.base
    if kind.origin is typing.Literal:
        return _values_type(kind.args)
    if not isinstance(base, type) or kind.origin is not None or issubclass(base, bool):
        return None
    if issubclass(base, enum.Enum):
        return _values_type(tuple(m.value for m in base))
    if issubclass(base, (int, float, Decimal)):
        return "N"
    if issubclass(base, (bytes, bytearray)):
        return "B"
    return "S" if issubclass(base, _TEXT_TYPES) else None


def native_key_types(table: TableSchema) -> dict[str, AttributeType]:
    """Types of the native multi-attribute key attributes, from the models' fields.

    Raises:
        DeclarationError: a field cannot be a key, two models give one attribute two types,
            or a type in the table's ``attribute_types`` contradicts a field.
    """
    found: dict[str, tuple[AttributeType, str]] = {}
    for model in table.models.values():
        spec = model.__dyntable__
        for key in spec.keys.values():
            if not key.native:
                continue
            for name in key.attrs:
                where = f"{model.__name__}.{name} (index {key.index!r})"
                typ = key_attribute_type(spec.fields[name].annotation)
                if typ is None:
                    raise DeclarationError(
                        f"{where}: a key attribute must be a string, number or binary "
                        f"field, not {spec.fields[name].annotation!r}"
                    )
                _merge(table, found, name, typ, where)
    return {name: typ for name, (typ, _where) in found.items()}


def _merge(
    table: TableSchema, found: dict[str, tuple[AttributeType, str]], name: str,
    typ: AttributeType, where: str,
) -> None:
    declared = table.attribute_types.get(name)
    if declared is not None and declared != typ:
        raise DeclarationError(
            f"{where} is stored as {typ}, but table {table.name!r} declares "
            f"attribute_types[{name!r}] = {declared!r}"
        )
    seen = found.setdefault(name, (typ, where))
    if seen[0] != typ:
        raise DeclarationError(
            f"key attribute {name!r} of table {table.name!r} has two types: {seen[0]} from "
            f"{seen[1]} and {typ} from {where}"
        )


def attribute_definitions(table: TableSchema) -> list[dict[str, str]]:
    """AttributeDefinitions for every key attribute of the table and its indexes.

    DynamoDB refuses definitions of attributes that no key schema uses, so only key
    attributes are listed.
    """
    names: list[str] = [table.pk]
    if table.sk:
        names.append(table.sk)
    for g in table.gsis:
        names.extend(g.pk_attrs)
        names.extend(g.sk_attrs)
    for lsi in table.lsis:
        names.append(lsi.sk)
    native = native_key_types(table)
    return [
        {"AttributeName": n, "AttributeType": table.attribute_types.get(n) or native.get(n, "S")}
        for n in dict.fromkeys(names)
    ]


def create_table_params(table: TableSchema) -> dict[str, Any]:
    """CreateTable parameters for the declaration (TTL is a separate call)."""
    params: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": _key_schema((table.pk,), (table.sk,) if table.sk else ()),
        "AttributeDefinitions": attribute_definitions(table),
        "BillingMode": table.billing_mode,
    }
    if table.billing_mode == "PROVISIONED":
        params["ProvisionedThroughput"] = _throughput(table.read_capacity, table.write_capacity)
    if table.gsis:
        params["GlobalSecondaryIndexes"] = [gsi_definition(table, g) for g in table.gsis]
    if table.lsis:
        params["LocalSecondaryIndexes"] = [
            {
                "IndexName": lsi.name,
                "KeySchema": _key_schema((table.pk,), (lsi.sk,)),
                "Projection": index_projection(table, lsi),
            }
            for lsi in table.lsis
        ]
    if table.stream:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    if table.table_class:
        params["TableClass"] = table.table_class
    if table.deletion_protection:
        params["DeletionProtectionEnabled"] = True
    if table.encryption is not None:
        params["SSESpecification"] = sse_specification(table.encryption)
    if table.on_demand_throughput is not None and table.billing_mode == "PAY_PER_REQUEST":
        params["OnDemandThroughput"] = on_demand_params(table.on_demand_throughput)
    if table.tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in table.tags.items()]
    return params


def pitr_params(table_name: str, enabled: bool, days: int | None = None) -> dict[str, Any]:
    """UpdateContinuousBackups parameters turning point-in-time recovery on (with its
    recovery period in ``days``, when given) or off."""
    spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": enabled}
    if enabled and days is not None:
        spec["RecoveryPeriodInDays"] = days
    return {"TableName": table_name, "PointInTimeRecoverySpecification": spec}


def replica_settings(table: TableSchema, replica: Replica) -> dict[str, Any]:
    """The settings of a replica as ReplicaUpdates Create / Update take them (KMS key, read
    capacity or on-demand read maximum, table class)."""
    out: dict[str, Any] = {"RegionName": replica.region}
    if replica.kms_key:
        out["KMSMasterKeyId"] = replica.kms_key
    elif table.encryption is not None and table.encryption.kind == "CUSTOMER_MANAGED":
        out["KMSMasterKeyId"] = table.encryption.kms_key  # an alias, found in each region
    read = replica.read_capacity or (replica.read_autoscaling.min_capacity
                                     if replica.read_autoscaling else None)
    if read is not None:
        out["ProvisionedThroughputOverride"] = {"ReadCapacityUnits": read}
    if replica.max_read_units is not None:
        out["OnDemandThroughputOverride"] = {"MaxReadRequestUnits": replica.max_read_units}
    table_class = table.replica_table_class(replica)
    if table_class:
        out["TableClassOverride"] = table_class
    return out


def replica_create_params(table: TableSchema, table_name: str,
                          replica: Replica) -> dict[str, Any]:
    """UpdateTable adding one replica (DynamoDB takes one replica change per call)."""
    return {"TableName": table_name,
            "ReplicaUpdates": [{"Create": replica_settings(table, replica)}]}


def replica_update_params(table: TableSchema, table_name: str,
                          replica: Replica) -> dict[str, Any]:
    """UpdateTable changing one replica's settings."""
    return {"TableName": table_name,
            "ReplicaUpdates": [{"Update": replica_settings(table, replica)}]}


def replica_delete_params(table_name: str, region: str) -> dict[str, Any]:
    """UpdateTable removing the replica in ``region`` (its data there is deleted)."""
    return {"TableName": table_name, "ReplicaUpdates": [{"Delete": {"RegionName": region}}]}


def home_region(description: Mapping[str, Any]) -> str | None:
    """The region of the table a DescribeTable answer describes (from its ARN)."""
    parts = str(description.get("TableArn") or "").split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


def is_dynamodb_local(description: Mapping[str, Any]) -> bool:
    """True when the description comes from DynamoDB Local (its ARNs name region
    ``ddblocal``), which has no replication, backups or tagging."""
    return home_region(description) == "ddblocal"


def ttl_params(table: TableSchema, enabled: bool = True) -> dict[str, Any] | None:
    """UpdateTimeToLive parameters, or ``None`` when the table declares no TTL."""
    if not table.ttl:
        return None
    return {
        "TableName": table.name,
        "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": table.ttl},
    }


# -- table administration flows -------------------------------------------------------------


def describe_flow(table_name: str) -> Flow[dict[str, Any]]:
    """DescribeTable's ``Table`` description."""
    response = yield from send(Request("DescribeTable", {"TableName": table_name}))
    description: dict[str, Any] = response["Table"]
    return description


def table_exists_flow(table_name: str) -> Flow[bool]:
    """True when DescribeTable finds the table."""
    try:
        yield from describe_flow(table_name)
    except TableNotFoundError:
        return False
    return True


def wait_active_flow(table_name: str, timeout: float = 300.0) -> Flow[dict[str, Any]]:
    """Poll DescribeTable until the table and its GSIs are ACTIVE.

    Raises:
        WaitTimeoutError: not ACTIVE after ``timeout`` seconds (it may still become so).
    """
    deadline = Deadline(timeout)
    delay = 0.05
    while True:
        desc = yield from describe_flow(table_name)
        gsis = desc.get("GlobalSecondaryIndexes") or []
        if desc.get("TableStatus") == "ACTIVE" and all(
            g.get("IndexStatus") == "ACTIVE" for g in gsis
        ):
            return desc
        if deadline.expired:
            raise WaitTimeoutError(
                f"table {table_name} is not ACTIVE after {timeout}s (status "
                f"{desc.get('TableStatus')}); it may still become ACTIVE: call "
                "wait_until_active() again or raise timeout="
            )
        yield Sleep(delay)
        delay = min(delay * 2, 2.0)


def enable_ttl_flow(table: TableSchema, table_name: str) -> Flow[bool]:
    """Enable TTL on the declared attribute (UpdateTimeToLive); False when none is declared."""
    params = ttl_params(table)
    if params is None:
        return False
    params["TableName"] = table_name
    yield from send(Request("UpdateTimeToLive", params))
    return True


def replica_active_flow(table_name: str, region: str,
                        timeout: float = 300.0) -> Flow[dict[str, Any]]:
    """Poll DescribeTable until the replica in ``region`` and the table are ACTIVE.

    Raises:
        ServiceError: the replica's creation failed (``CREATION_FAILED``, or its KMS key
            is inaccessible).
        WaitTimeoutError: not ACTIVE after ``timeout`` seconds (it may still become so).
    """
    deadline = Deadline(timeout)
    delay = 0.5
    while True:
        desc = yield from describe_flow(table_name)
        status = next((r.get("ReplicaStatus") for r in desc.get("Replicas") or []
                       if r.get("RegionName") == region), None)
        if status == "ACTIVE" and desc.get("TableStatus") == "ACTIVE":
            return desc
        if status in ("CREATION_FAILED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
                      "REPLICATION_NOT_AUTHORIZED"):
            raise ServiceError(f"the replica in {region} is {status}", code=str(status),
                               operation="UpdateTable", table=table_name)
        if deadline.expired:
            raise WaitTimeoutError(
                f"replica of {table_name} in {region} is not ACTIVE after {timeout}s "
                f"(status {status}); it may still become ACTIVE: run sync again later")
        yield Sleep(delay)
        delay = min(delay * 2, 10.0)


def _check_home(table: TableSchema, desc: Mapping[str, Any]) -> None:
    home = home_region(desc)
    if home is not None and table.replica(home) is not None:
        raise InvalidRequestError(
            f"table {desc.get('TableName')} is in {home}, which its declaration also lists "
            "as a replica; replicas are the other regions")


def apply_settings_flow(table: TableSchema, table_name: str, desc: dict[str, Any],
                        timeout: float = 300.0) -> Flow[dict[str, Any]]:
    """After creation: point-in-time recovery, then each replica, one at a time, waiting
    until it is ACTIVE. DynamoDB Local has neither: they are left out there (logged)."""
    local = is_dynamodb_local(desc)
    if table.point_in_time_recovery:
        if local:
            log.info("%s: DynamoDB Local has no point-in-time recovery: not enabled",
                     table_name)
        else:
            yield from send(Request("UpdateContinuousBackups", pitr_params(
                table_name, True, table.recovery_period_days)))
    if table.replicas and local:
        log.info("%s: DynamoDB Local does not replicate: replicas %s not created", table_name,
                 ", ".join(r.region for r in table.replicas))
        return desc
    if table.replicas:
        _check_home(table, desc)
    for replica in table.replicas:
        yield from send(Request("UpdateTable", replica_create_params(table, table_name,
                                                                     replica)))
        desc = yield from replica_active_flow(table_name, replica.region, timeout)
    return desc


def create_table_flow(table: TableSchema, table_name: str, *, wait: bool = True,
                      timeout: float = 300.0) -> Flow[dict[str, Any]]:
    """Create the table from its declaration; with ``wait``, wait until ACTIVE, then enable
    TTL and point-in-time recovery and add the replicas one by one (each only possible on
    an ACTIVE table). Returns the description.

    Settings a replica keeps in its own region (point-in-time recovery, tags, deletion
    protection) are applied by :func:`dyntable.migrations.sync.sync_table`.
    """
    params = create_table_params(table)
    params["TableName"] = table_name
    response = yield from send(Request("CreateTable", params))
    desc: dict[str, Any] = response.get("TableDescription", {})
    if wait:
        desc = yield from wait_active_flow(table_name, timeout)
        yield from enable_ttl_flow(table, table_name)
        desc = yield from apply_settings_flow(table, table_name, desc, timeout)
    return desc


def delete_table_flow(table_name: str, *, wait: bool = True,
                      timeout: float = 300.0) -> Flow[None]:
    """Delete the table; with ``wait``, until DescribeTable no longer finds it.

    Raises:
        WaitTimeoutError: it still exists after ``timeout`` seconds.
    """
    yield from send(Request("DeleteTable", {"TableName": table_name}))
    if not wait:
        return
    deadline = Deadline(timeout)
    delay = 0.05
    while True:
        try:
            desc = yield from describe_flow(table_name)
        except TableNotFoundError:
            return
        if deadline.expired:
            raise WaitTimeoutError(
                f"table {table_name} still exists {timeout}s after DeleteTable "
                f"(status {desc.get('TableStatus')}); it may still go away"
            )
        yield Sleep(delay)
        delay = min(delay * 2, 2.0)
