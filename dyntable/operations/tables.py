"""Table-level requests built from a :class:`~dyntable.schema.table.Table` declaration."""

from __future__ import annotations

from typing import Any

from dyntable.schema.table import GSI, LSI, Table

__all__ = ["create_table_params", "index_projection", "ttl_params"]


def index_projection(table: Table, index: GSI | LSI) -> dict[str, Any]:
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


def gsi_definition(table: Table, gsi: GSI) -> dict[str, Any]:
    """One GlobalSecondaryIndexes entry."""
    entry: dict[str, Any] = {
        "IndexName": gsi.name,
        "KeySchema": _key_schema(gsi.pk_attrs, gsi.sk_attrs),
        "Projection": index_projection(table, gsi),
    }
    if table.billing_mode == "PROVISIONED":
        entry["ProvisionedThroughput"] = _throughput(
            gsi.read_capacity or table.read_capacity, gsi.write_capacity or table.write_capacity
        )
    return entry


def attribute_definitions(table: Table) -> list[dict[str, str]]:
    """AttributeDefinitions for every key attribute of the table and its indexes."""
    names: list[str] = [table.pk]
    if table.sk:
        names.append(table.sk)
    for g in table.gsis:
        names.extend(g.pk_attrs)
        names.extend(g.sk_attrs)
    for lsi in table.lsis:
        names.append(lsi.sk)
    return [
        {"AttributeName": n, "AttributeType": table.attribute_type(n)}
        for n in dict.fromkeys(names)
    ]


def create_table_params(table: Table) -> dict[str, Any]:
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
    if table.tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in table.tags.items()]
    return params


def ttl_params(table: Table, enabled: bool = True) -> dict[str, Any] | None:
    """UpdateTimeToLive parameters, or ``None`` when the table declares no TTL."""
    if not table.ttl:
        return None
    return {
        "TableName": table.name,
        "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": table.ttl},
    }
