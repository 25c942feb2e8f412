"""Schema diff: the declared :class:`~dyntable.schema.table.Table` against the live table.

:func:`diff_table` compares a declaration with DescribeTable, DescribeTimeToLive,
DescribeContinuousBackups and ListTagsOfResource output, and with the same read in each
replica's region (no I/O, so it is tested offline); :func:`diff_live` reads them through a
client. Each :class:`Change` carries the request that applies it: one GSI created or
deleted per UpdateTable call, one replica added or removed per call, as DynamoDB requires.
A changed GSI (keys or projection) is a drop and an add; dropping an index, disabling a
stream and removing a replica are destructive. Key schema and LSI changes cannot be
applied to an existing table.

Settings the declaration leaves ``None`` (encryption, point-in-time recovery, tags,
on-demand maxima) are not compared. Auto scaling is Application Auto Scaling, not
DynamoDB: the exported template creates it; the diff leaves the capacity it manages alone.
DynamoDB Local has no replication, backups or tags and does not report encryption or table
class: against it those are not compared, and the diff says so in :attr:`TableDiff.notes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dyntable._internal.operations.tables import (
    attribute_definitions,
    create_table_params,
    gsi_definition,
    home_region,
    is_dynamodb_local,
    on_demand_params,
    pitr_params,
    replica_create_params,
    replica_delete_params,
    replica_update_params,
    sse_specification,
    ttl_params,
)
from dyntable.errors import TableNotFoundError
from dyntable.schema.settings import OnDemandThroughput, Replica
from dyntable.schema.table import GSI, TableSchema

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = [
    "TTL_NOTE",
    "Change",
    "RegionState",
    "TableDiff",
    "diff_live",
    "diff_table",
    "read_live",
    "read_regions",
    "regional_client",
]

TTL_NOTE = "on AWS, TTL can be enabled or disabled only once per hour per table"
REPLICA_NOTE = "one replica change per UpdateTable; sync waits until it is ACTIVE"
REGIONAL_NOTE = ("point-in-time recovery, tags and deletion protection of a new replica are "
                 "set in its region once it is ACTIVE (sync does it in a second pass)")
AUTOSCALING_NOTE = ("auto scaling targets are Application Auto Scaling resources, created by "
                    "the exported template (dyntable export); sync leaves the capacity they "
                    "manage alone")
ConnectRegion = Callable[[str], "Client"]


@dataclass(frozen=True)
class Change:
    """One difference and how to apply it.

    ``operation`` / ``params`` are the request (``operation`` is ``None`` when the change
    cannot be applied to an existing table). ``destructive`` changes lose data or stop a
    feed consumers rely on (dropping an index, disabling a stream).
    """

    kind: str
    target: str
    detail: str
    operation: str | None
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    destructive: bool = False
    note: str = ""
    #: the region the request goes to (a replica's own settings); ``None``: the client's
    region: str | None = None

    def __str__(self) -> str:
        sign = "!" if self.operation is None else ("-" if self.destructive else "+")
        text = f"{sign} {self.detail}"
        if self.region:
            text += f" [in {self.region}]"
        if self.destructive:
            text += " [destructive]"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass
class TableDiff:
    """The changes that bring the live table to the declaration, in the order to apply."""

    table_name: str
    changes: list[Change] = field(default_factory=list)
    #: what was not compared, and why (e.g. DynamoDB Local has no tags)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the live table matches the declaration."""
        return not self.changes

    @property
    def destructive(self) -> list[Change]:
        """Changes that need ``--allow-destructive``."""
        return [c for c in self.changes if c.destructive]

    @property
    def unsupported(self) -> list[Change]:
        """Changes DynamoDB cannot make to an existing table."""
        return [c for c in self.changes if c.operation is None]

    @property
    def adds_replicas(self) -> bool:
        """True when a replica is created (its regional settings follow in a second pass)."""
        return any(c.kind == "add_replica" for c in self.changes)

    def __str__(self) -> str:
        notes = [f"  note: {n}" for n in self.notes]
        if self.empty:
            return "\n".join([f"table {self.table_name}: no differences", *notes])
        return "\n".join([f"table {self.table_name}:", *(f"  {c}" for c in self.changes),
                          *notes])


@dataclass
class RegionState:
    """What was read in one replica's region: DescribeTable's ``Table``,
    DescribeContinuousBackups' answer and the tags (``None``: not read)."""

    description: dict[str, Any] | None = None
    backups: dict[str, Any] | None = None
    tags: dict[str, str] | None = None


def _keys(schema: Any) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema or []]


def _projection(p: Mapping[str, Any] | None) -> tuple[str, frozenset[str]]:
    p = p or {}
    return str(p.get("ProjectionType", "ALL")), frozenset(p.get("NonKeyAttributes") or ())


def _throughput(entry: Mapping[str, Any]) -> tuple[int, int]:
    t = entry.get("ProvisionedThroughput") or {}
    return int(t.get("ReadCapacityUnits") or 0), int(t.get("WriteCapacityUnits") or 0)


def _scaled(want: Mapping[str, Any], live: Mapping[str, Any], read_scaled: bool,
            write_scaled: bool) -> tuple[int, int]:
    """The capacity to compare: a dimension under auto scaling keeps its live value."""
    w_read, w_write = _throughput(want)
    l_read, l_write = _throughput(live)
    return (l_read if read_scaled else w_read), (l_write if write_scaled else w_write)


def _units(pair: tuple[int, int]) -> dict[str, int]:
    return {"ReadCapacityUnits": pair[0], "WriteCapacityUnits": pair[1]}


def _on_demand(entry: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """Live on-demand maxima (absent or -1: no maximum)."""
    t = entry.get("OnDemandThroughput") or {}
    return (_limit(t.get("MaxReadRequestUnits")), _limit(t.get("MaxWriteRequestUnits")))


def _limit(value: Any) -> int | None:
    return int(value) if value is not None and int(value) > 0 else None


def _limits(limits: OnDemandThroughput) -> tuple[int | None, int | None]:
    return limits.max_read_units, limits.max_write_units


def _update(name: str, **params: Any) -> dict[str, Any]:
    return {"TableName": name, **params}


def _gsi_changes(table: TableSchema, name: str, live: Mapping[str, Any]) -> list[Change]:
    drops: list[Change] = []
    adds: list[Change] = []
    live_gsis = {g["IndexName"]: g for g in live.get("GlobalSecondaryIndexes") or []}
    defs = {d["AttributeName"]: d for d in attribute_definitions(table)}
    for gsi in table.gsis:
        want = gsi_definition(table, gsi)
        have = live_gsis.pop(gsi.name, None)
        create = Change("add_index", gsi.name, f"add GSI {gsi.name} {_describe(gsi)}",
                        "UpdateTable", _create_gsi(name, want, defs, gsi))
        if have is None:
            adds.append(create)
            continue
        if _keys(have["KeySchema"]) != _keys(want["KeySchema"]) or \
                _projection(have.get("Projection")) != _projection(want["Projection"]):
            drops.append(_drop(name, gsi.name, "changed keys or projection: drop, then re-add"))
            adds.append(create)
        elif "ProvisionedThroughput" in want and _throughput(have) != _scaled(
                want, have, gsi.read_autoscaling is not None, gsi.write_autoscaling is not None):
            target = _scaled(want, have, gsi.read_autoscaling is not None,
                             gsi.write_autoscaling is not None)
            update = {"Update": {"IndexName": gsi.name,
                                 "ProvisionedThroughput": _units(target)}}
            adds.append(Change("throughput", gsi.name, f"set GSI {gsi.name} capacity to "
                               f"{target}", "UpdateTable",
                               _update(name, GlobalSecondaryIndexUpdates=[update])))
        elif gsi.on_demand_throughput is not None and "ProvisionedThroughput" not in want \
                and _on_demand(have) != _limits(gsi.on_demand_throughput):
            update = {"Update": {"IndexName": gsi.name, "OnDemandThroughput": on_demand_params(
                gsi.on_demand_throughput, both=True)}}
            adds.append(Change("on_demand", gsi.name, f"GSI {gsi.name} on-demand maxima "
                               f"{_on_demand(have)} -> {_limits(gsi.on_demand_throughput)}",
                               "UpdateTable", _update(name, GlobalSecondaryIndexUpdates=[update])))
    drops += [_drop(name, g, "not declared") for g in live_gsis]
    return drops + adds


def _describe(gsi: GSI) -> str:
    keys = ", ".join([*gsi.pk_attrs, *gsi.sk_attrs])
    proj = gsi.projection_type if gsi.projection_type != "INCLUDE" else \
        f"INCLUDE {list(gsi.include)}"
    return f"({keys}; {proj})"


def _create_gsi(name: str, want: dict[str, Any], defs: Mapping[str, Any],
                gsi: GSI) -> dict[str, Any]:
    attrs = [defs[a] for a in dict.fromkeys([*gsi.pk_attrs, *gsi.sk_attrs])]
    return _update(name, AttributeDefinitions=attrs,
                   GlobalSecondaryIndexUpdates=[{"Create": want}])


def _drop(name: str, index: str, why: str) -> Change:
    return Change("drop_index", index, f"drop GSI {index} ({why})", "UpdateTable",
                  _update(name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}]),
                  destructive=True)


def _structure_changes(table: TableSchema, live: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    want = create_table_params(table)
    if _keys(live.get("KeySchema")) != _keys(want["KeySchema"]):
        out.append(Change("key_schema", "table", "table key schema differs "
                          f"({_keys(live.get('KeySchema'))} -> {_keys(want['KeySchema'])}); "
                          "create a new table and copy the data", None))
    live_lsis = {i["IndexName"]: i for i in live.get("LocalSecondaryIndexes") or []}
    want_lsis = {i["IndexName"]: i for i in want.get("LocalSecondaryIndexes") or []}
    for lname in sorted(set(live_lsis) | set(want_lsis)):
        a, b = live_lsis.get(lname), want_lsis.get(lname)
        if a is None or b is None or _keys(a["KeySchema"]) != _keys(b["KeySchema"]) or \
                _projection(a.get("Projection")) != _projection(b.get("Projection")):
            what = "missing" if a is None else ("not declared" if b is None else "differs")
            out.append(Change("lsi", lname, f"LSI {lname} {what}; LSIs are fixed when the "
                              "table is created: create a new table and copy the data", None))
    return out


def _billing_changes(table: TableSchema, name: str, live: Mapping[str, Any]) -> list[Change]:
    mode = (live.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    want = create_table_params(table)
    if mode != table.billing_mode:
        params = _update(name, BillingMode=table.billing_mode)
        if table.billing_mode == "PROVISIONED":
            params["ProvisionedThroughput"] = want["ProvisionedThroughput"]
            live_names = {g["IndexName"] for g in live.get("GlobalSecondaryIndexes") or []}
            updates = [{"Update": {"IndexName": g["IndexName"],
                                   "ProvisionedThroughput": g["ProvisionedThroughput"]}}
                       for g in want.get("GlobalSecondaryIndexes") or []
                       if g["IndexName"] in live_names]
            if updates:
                params["GlobalSecondaryIndexUpdates"] = updates
        elif table.on_demand_throughput is not None:
            params["OnDemandThroughput"] = on_demand_params(table.on_demand_throughput)
        return [Change("billing", "table", f"billing mode {mode} -> {table.billing_mode}",
                       "UpdateTable", params,
                       note="on AWS, switching to on-demand is allowed once per 24 hours")]
    if mode == "PROVISIONED":
        target = _scaled(want, live, table.read_autoscaling is not None,
                         table.write_autoscaling is not None)
        if _throughput(live) != target:
            return [Change("throughput", "table", f"table capacity {_throughput(live)} -> "
                           f"{target}", "UpdateTable",
                           _update(name, ProvisionedThroughput=_units(target)))]
        return []
    limits = table.on_demand_throughput
    if limits is not None and _on_demand(live) != _limits(limits):
        return [Change("on_demand", "table", f"on-demand maxima (read, write) "
                       f"{_on_demand(live)} -> {_limits(limits)}", "UpdateTable",
                       _update(name, OnDemandThroughput=on_demand_params(limits, both=True)))]
    return []


def _stream_changes(table: TableSchema, name: str, live: Mapping[str, Any]) -> list[Change]:
    spec = live.get("StreamSpecification") or {}
    on, view = bool(spec.get("StreamEnabled")), spec.get("StreamViewType")
    if on and (table.stream is None or view != table.stream):
        disable = Change("stream", "stream", f"disable stream ({view})", "UpdateTable",
                         _update(name, StreamSpecification={"StreamEnabled": False}),
                         destructive=True)
        out = [disable]
    elif table.stream is None or on:
        return []
    else:
        out = []
    if table.stream is not None:
        out.append(Change("stream", "stream", f"enable stream ({table.stream})", "UpdateTable",
                          _update(name, StreamSpecification={"StreamEnabled": True,
                                                             "StreamViewType": table.stream})))
    return out


def _ttl_changes(table: TableSchema, name: str, ttl: Mapping[str, Any] | None) -> list[Change]:
    desc = (ttl or {}).get("TimeToLiveDescription") or {}
    on = desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    attr = desc.get("AttributeName")
    out: list[Change] = []
    if on and attr != table.ttl:
        out.append(Change("ttl", "ttl", f"disable TTL on {attr!r}", "UpdateTimeToLive",
                          _update(name, TimeToLiveSpecification={"Enabled": False,
                                                                 "AttributeName": attr}),
                          note=TTL_NOTE))
    if table.ttl and (not on or attr != table.ttl):
        params = ttl_params(table) or {}
        out.append(Change("ttl", "ttl", f"enable TTL on {table.ttl!r}", "UpdateTimeToLive",
                          {**params, "TableName": name}, note=TTL_NOTE))
    return out


def _settings_changes(table: TableSchema, name: str, live: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    live_class = (live.get("TableClassSummary") or {}).get("TableClass") or "STANDARD"
    if table.table_class and live_class != table.table_class and \
            not is_dynamodb_local(live):
        out.append(Change("table_class", "table", f"table class {live_class} -> "
                          f"{table.table_class}", "UpdateTable",
                          _update(name, TableClass=table.table_class)))
    live_dp = live.get("DeletionProtectionEnabled")
    if live_dp is not None and bool(live_dp) != table.deletion_protection:
        out.append(Change("deletion_protection", "table", "deletion protection "
                          f"{'on' if table.deletion_protection else 'off'}", "UpdateTable",
                          _update(name, DeletionProtectionEnabled=table.deletion_protection)))
    if not is_dynamodb_local(live):
        out += _sse_changes(table, name, live)
    return out


def _sse_changes(table: TableSchema, name: str, live: Mapping[str, Any]) -> list[Change]:
    """Encryption at rest. DescribeTable tells an AWS owned key (no SSEDescription) from a
    KMS key, and names the KMS key by ARN: a key declared by alias or id is not compared,
    nor is an AWS managed key told from a customer managed one."""
    enc = table.encryption
    if enc is None:
        return []
    sse = live.get("SSEDescription") or {}
    kms = sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING")
    live_arn = sse.get("KMSMasterKeyArn")
    want_kms = enc.kind != "AWS_OWNED"
    if kms == want_kms and not (enc.key_is_arn and live_arn != enc.kms_key):
        return []
    was = f"KMS key {live_arn}" if kms else "AWS owned key"
    now = {"AWS_OWNED": "AWS owned key", "AWS_MANAGED": "AWS managed key"}.get(
        enc.kind, f"KMS key {enc.kms_key}")
    return [Change("encryption", "table", f"encryption {was} -> {now}", "UpdateTable",
                   _update(name, SSESpecification=sse_specification(enc)))]


def _pitr_changes(want: bool | None, backups: Mapping[str, Any] | None, name: str,
                  region: str | None = None, days: int | None = None) -> list[Change]:
    if want is None or backups is None:
        return []
    desc = (backups.get("ContinuousBackupsDescription") or {}).get(
        "PointInTimeRecoveryDescription") or {}
    on = desc.get("PointInTimeRecoveryStatus") in ("ENABLED", "ENABLING")
    live_days = int(desc.get("RecoveryPeriodInDays") or 35)
    if on == want and not (want and days is not None and live_days != days):
        return []
    detail = f"point-in-time recovery {'on' if want else 'off'}"
    if want and days is not None:
        detail += f" ({days} days" + (f", was {live_days})" if on else ")")
    return [Change("pitr", region or "table", detail, "UpdateContinuousBackups",
                   pitr_params(name, want, days), region=region)]


def _tag_changes(want: Mapping[str, str] | None, live: Mapping[str, str] | None,
                 arn: str | None, region: str | None = None) -> list[Change]:
    """TagResource for missing or changed tags, UntagResource for undeclared ones (tags
    AWS sets itself, ``aws:*``, are left alone)."""
    if want is None or live is None or not arn:
        return []
    mine = {k: v for k, v in live.items() if not k.startswith("aws:")}
    put = {k: v for k, v in want.items() if mine.get(k) != v}
    drop = sorted(set(mine) - set(want))
    target = region or "table"
    out: list[Change] = []
    if put:
        out.append(Change("tags", target, f"set tags {put}", "TagResource",
                          {"ResourceArn": arn,
                           "Tags": [{"Key": k, "Value": v} for k, v in put.items()]},
                          region=region))
    if drop:
        out.append(Change("tags", target, f"remove tags {drop}", "UntagResource",
                          {"ResourceArn": arn, "TagKeys": drop}, region=region))
    return out


def _replica_override(entry: Mapping[str, Any], key: str, field_name: str) -> int | None:
    return _limit((entry.get(key) or {}).get(field_name))


def _replica_drift(table: TableSchema, replica: Replica, live: Mapping[str, Any]) -> list[str]:
    """What differs in a live replica's own settings (ReplicaDescription)."""
    out: list[str] = []
    live_class = (live.get("ReplicaTableClassSummary") or {}).get("TableClass") or "STANDARD"
    want_class = table.replica_table_class(replica)
    if want_class and want_class != live_class:
        out.append(f"table class {live_class} -> {want_class}")
    if replica.kms_key and replica.kms_key.startswith("arn:") and \
            live.get("KMSMasterKeyId") != replica.kms_key:
        out.append(f"KMS key -> {replica.kms_key}")
    read = _replica_override(live, "ProvisionedThroughputOverride", "ReadCapacityUnits")
    if replica.read_capacity is not None and read != replica.read_capacity:
        out.append(f"read capacity {read} -> {replica.read_capacity}")
    max_read = _replica_override(live, "OnDemandThroughputOverride", "MaxReadRequestUnits")
    if replica.max_read_units is not None and max_read != replica.max_read_units:
        out.append(f"on-demand read maximum {max_read} -> {replica.max_read_units}")
    return out


def _live_replicas(live: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    home = home_region(live)
    return {r["RegionName"]: r for r in live.get("Replicas") or []
            if r.get("RegionName") and r["RegionName"] != home}


def _replica_changes(table: TableSchema, name: str,
                     live: Mapping[str, Any]) -> tuple[list[Change], list[Change]]:
    """(removals, then additions and updates): one replica per UpdateTable."""
    home = home_region(live)
    live_reps = _live_replicas(live)
    removes = [Change("remove_replica", region, f"remove replica {region} (the replica's "
                      "copy of the table is deleted)", "UpdateTable",
                      replica_delete_params(name, region), destructive=True,
                      note=REPLICA_NOTE)
               for region in sorted(live_reps) if table.replica(region) is None]
    out: list[Change] = []
    if home is not None and table.replica(home) is not None:
        out.append(Change("replica", home, f"table is in {home}, which the declaration lists "
                          "as a replica (replicas are the other regions)", None))
    for replica in table.replicas:
        if replica.region == home:
            continue
        have = live_reps.get(replica.region)
        if have is None:
            out.append(Change("add_replica", replica.region, f"add replica {replica.region}",
                              "UpdateTable", replica_create_params(table, name, replica),
                              note=REPLICA_NOTE))
            continue
        drift = _replica_drift(table, replica, have)
        if drift:
            out.append(Change("replica", replica.region, f"replica {replica.region}: "
                              + "; ".join(drift), "UpdateTable",
                              replica_update_params(table, name, replica), note=REPLICA_NOTE))
    return removes, out


def _regional_changes(table: TableSchema, name: str, live: Mapping[str, Any],
                      regions: Mapping[str, RegionState]) -> list[Change]:
    """Settings each replica keeps in its own region, sent there."""
    out: list[Change] = []
    live_reps = _live_replicas(live)
    for region, state in sorted(regions.items()):
        if region not in live_reps:
            continue
        desc = state.description or {}
        replica = table.replica(region)
        if replica is None:  # to be removed: deletion protection would refuse it
            if desc.get("DeletionProtectionEnabled"):
                out.append(Change("deletion_protection", region, "deletion protection off "
                                  "(before the replica is removed)", "UpdateTable",
                                  _update(name, DeletionProtectionEnabled=False),
                                  region=region))
            continue
        want_dp = table.replica_deletion_protection(replica)
        if "DeletionProtectionEnabled" in desc and bool(desc["DeletionProtectionEnabled"]) \
                != want_dp:
            out.append(Change("deletion_protection", region, "deletion protection "
                              f"{'on' if want_dp else 'off'}", "UpdateTable",
                              _update(name, DeletionProtectionEnabled=want_dp), region=region))
        out += _pitr_changes(table.replica_pitr(replica), state.backups, name, region,
                             table.recovery_period_days)
        out += _tag_changes(table.replica_tags(replica), state.tags, desc.get("TableArn"),
                            region)
    return out


def _uses_autoscaling(table: TableSchema) -> bool:
    return bool(table.read_autoscaling or table.write_autoscaling
                or any(g.read_autoscaling or g.write_autoscaling for g in table.gsis)
                or any(r.read_autoscaling for r in table.replicas))


def _local_notes(table: TableSchema) -> list[str]:
    skipped = [what for what, declared in (
        ("replicas", bool(table.replicas)),
        ("point-in-time recovery", table.point_in_time_recovery is not None),
        ("tags", table.declared_tags is not None),
        ("encryption", table.encryption is not None),
        ("table class", table.table_class is not None)) if declared]
    if not skipped:
        return []
    return [f"DynamoDB Local does not support or report {', '.join(skipped)}: not compared"]


def diff_table(
    table: TableSchema,
    description: Mapping[str, Any] | None,
    ttl: Mapping[str, Any] | None = None,
    *,
    table_name: str | None = None,
    backups: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    regions: Mapping[str, RegionState] | None = None,
) -> TableDiff:
    """The changes from a live table (DescribeTable's ``Table``; ``None``: absent) to ``table``.

    ``ttl`` is DescribeTimeToLive's response, ``backups`` DescribeContinuousBackups', ``tags``
    the table's tags, ``regions`` what was read in each replica's region; what is ``None``
    is not compared. ``table_name`` is the physical name (default: the declaration's).
    """
    name = table_name or table.name
    result = TableDiff(name)
    if description is None:
        params = {**create_table_params(table), "TableName": name}
        result.changes.append(Change("create_table", "table", f"create table {name}",
                                     "CreateTable", params))
        if table.point_in_time_recovery or table.replicas:
            result.notes.append("point-in-time recovery and replicas follow the creation, "
                                "one replica at a time")
        return result
    local = is_dynamodb_local(description)
    result.changes += _structure_changes(table, description)
    removes, replicas = ([], []) if local else _replica_changes(table, name, description)
    regional = [] if local else _regional_changes(table, name, description, regions or {})
    result.changes += [c for c in regional if c.kind == "deletion_protection"
                       and table.replica(str(c.region)) is None]
    result.changes += removes
    gsi = _gsi_changes(table, name, description)
    result.changes += [c for c in gsi if c.destructive]
    result.changes += _billing_changes(table, name, description)
    result.changes += [c for c in gsi if not c.destructive]
    result.changes += _stream_changes(table, name, description)
    result.changes += _ttl_changes(table, name, ttl)
    result.changes += _settings_changes(table, name, description)
    if not local:
        result.changes += _pitr_changes(table.point_in_time_recovery, backups, name,
                                        days=table.recovery_period_days)
        result.changes += _tag_changes(table.declared_tags, tags,
                                       description.get("TableArn"))
    result.changes += replicas
    result.changes += [c for c in regional if table.replica(str(c.region)) is not None]
    if local:
        result.notes += _local_notes(table)
    if any(c.kind == "add_replica" for c in replicas):
        result.notes.append(REGIONAL_NOTE)
    if _uses_autoscaling(table):
        result.notes.append(AUTOSCALING_NOTE)
    return result


def read_live(client: Client) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """DescribeTable's ``Table`` (``None``: no such table) and DescribeTimeToLive's answer."""
    try:
        desc = client.describe_table()
    except TableNotFoundError:
        return None, None
    ttl = client.send("DescribeTimeToLive", {"TableName": client.table_name})
    return desc, ttl


def _tags_of(client: Client, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    params: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = client.send("ListTagsOfResource", params)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags") or []})
        if not page.get("NextToken"):
            return tags
        params["NextToken"] = page["NextToken"]


def read_regions(client: Client, description: Mapping[str, Any],
                 connect_region: ConnectRegion | None = None) -> dict[str, RegionState]:
    """Read each ACTIVE replica's own settings in its region: DescribeTable (deletion
    protection, ARN), and DescribeContinuousBackups and tags where the table manages
    them. ``connect_region(region)`` makes the client (default: the default transport in
    that region, same table name)."""
    table = client.table
    if is_dynamodb_local(description):
        return {}
    out: dict[str, RegionState] = {}
    for region, rep in _live_replicas(description).items():
        if rep.get("ReplicaStatus") != "ACTIVE":
            continue
        regional = connect_region(region) if connect_region else regional_client(client, region)
        try:
            out[region] = _read_region(table, region, regional)
        finally:
            if connect_region is None:
                regional.close()
    return out


def _read_region(table: TableSchema, region: str, regional: Client) -> RegionState:
    desc = regional.describe_table()
    state = RegionState(description=desc)
    replica = table.replica(region)
    if replica is not None and table.replica_pitr(replica) is not None:
        state.backups = regional.send("DescribeContinuousBackups",
                                      {"TableName": regional.table_name})
    if replica is not None and table.replica_tags(replica) is not None:
        state.tags = _tags_of(regional, desc["TableArn"])
    return state


def regional_client(client: Client, region: str) -> Client:
    """A client of ``client``'s table in another region: the default transport there."""
    from dyntable.client import Client

    return Client(client.table, region=region, table_name=client.table_name)


def diff_live(client: Client, *, connect_region: ConnectRegion | None = None) -> TableDiff:
    """Compare ``client.table`` with the live table ``client.table_name``.

    Reads what the declaration manages: TTL always; continuous backups and tags when
    declared; each replica's own settings in its region through ``connect_region``
    (see :func:`read_regions`).
    """
    desc, ttl = read_live(client)
    table = client.table
    if desc is None or is_dynamodb_local(desc):
        return diff_table(table, desc, ttl, table_name=client.table_name)
    backups = None
    if table.point_in_time_recovery is not None:
        backups = client.send("DescribeContinuousBackups", {"TableName": client.table_name})
    tags = _tags_of(client, desc["TableArn"]) if table.declared_tags is not None else None
    regions = read_regions(client, desc, connect_region)
    return diff_table(table, desc, ttl, table_name=client.table_name, backups=backups,
                      tags=tags, regions=regions)

