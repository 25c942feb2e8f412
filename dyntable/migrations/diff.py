"""Schema diff: the declared :class:`~dyntable.schema.table.Table` against the live table.

:func:`diff_table` compares a declaration with DescribeTable and DescribeTimeToLive output
(no I/O, so it is tested offline); :func:`diff_live` reads both from a client. Each
:class:`Change` carries the request that applies it: one GSI created or deleted per
UpdateTable call, as DynamoDB requires. A changed GSI (keys or projection) is a drop and an
add; dropping an index and disabling a stream are destructive. Key schema and LSI changes
cannot be applied to an existing table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dyntable._internal.operations.tables import (
    attribute_definitions,
    create_table_params,
    gsi_definition,
    ttl_params,
)
from dyntable.errors import TableNotFoundError
from dyntable.schema.table import GSI, TableSchema

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["TTL_NOTE", "Change", "TableDiff", "diff_live", "diff_table", "read_live"]

TTL_NOTE = "on AWS, TTL can be enabled or disabled only once per hour per table"


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

    def __str__(self) -> str:
        sign = "!" if self.operation is None else ("-" if self.destructive else "+")
        text = f"{sign} {self.detail}"
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

    def __str__(self) -> str:
        if self.empty:
            return f"table {self.table_name}: no differences"
        return "\n".join([f"table {self.table_name}:", *(f"  {c}" for c in self.changes)])


def _keys(schema: Any) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema or []]


def _projection(p: Mapping[str, Any] | None) -> tuple[str, frozenset[str]]:
    p = p or {}
    return str(p.get("ProjectionType", "ALL")), frozenset(p.get("NonKeyAttributes") or ())


def _throughput(entry: Mapping[str, Any]) -> tuple[int, int]:
    t = entry.get("ProvisionedThroughput") or {}
    return int(t.get("ReadCapacityUnits") or 0), int(t.get("WriteCapacityUnits") or 0)


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
        elif "ProvisionedThroughput" in want and \
                _throughput(have) != _throughput(want):
            update = {"Update": {"IndexName": gsi.name,
                                 "ProvisionedThroughput": want["ProvisionedThroughput"]}}
            adds.append(Change("throughput", gsi.name, f"set GSI {gsi.name} capacity to "
                               f"{_throughput(want)}", "UpdateTable",
                               _update(name, GlobalSecondaryIndexUpdates=[update])))
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
        return [Change("billing", "table", f"billing mode {mode} -> {table.billing_mode}",
                       "UpdateTable", params,
                       note="on AWS, switching to on-demand is allowed once per 24 hours")]
    if mode == "PROVISIONED" and _throughput(live) != _throughput(want):
        return [Change("throughput", "table", f"table capacity {_throughput(live)} -> "
                       f"{_throughput(want)}", "UpdateTable",
                       _update(name, ProvisionedThroughput=want["ProvisionedThroughput"]))]
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
    if table.table_class and live_class != table.table_class:
        out.append(Change("table_class", "table", f"table class {live_class} -> "
                          f"{table.table_class}", "UpdateTable",
                          _update(name, TableClass=table.table_class)))
    live_dp = live.get("DeletionProtectionEnabled")
    if live_dp is not None and bool(live_dp) != table.deletion_protection:
        out.append(Change("deletion_protection", "table", "deletion protection "
                          f"{'on' if table.deletion_protection else 'off'}", "UpdateTable",
                          _update(name, DeletionProtectionEnabled=table.deletion_protection)))
    return out


def diff_table(
    table: TableSchema,
    description: Mapping[str, Any] | None,
    ttl: Mapping[str, Any] | None = None,
    *,
    table_name: str | None = None,
) -> TableDiff:
    """The changes from a live table (DescribeTable's ``Table``; ``None``: absent) to ``table``.

    ``ttl`` is DescribeTimeToLive's response. ``table_name`` is the physical name (default:
    the declaration's).
    """
    name = table_name or table.name
    result = TableDiff(name)
    if description is None:
        params = {**create_table_params(table), "TableName": name}
        result.changes.append(Change("create_table", "table", f"create table {name}",
                                     "CreateTable", params))
        return result
    result.changes += _structure_changes(table, description)
    gsi = _gsi_changes(table, name, description)
    result.changes += [c for c in gsi if c.destructive]
    result.changes += _billing_changes(table, name, description)
    result.changes += [c for c in gsi if not c.destructive]
    result.changes += _stream_changes(table, name, description)
    result.changes += _ttl_changes(table, name, ttl)
    result.changes += _settings_changes(table, name, description)
    return result


def read_live(client: Client) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """DescribeTable's ``Table`` (``None``: no such table) and DescribeTimeToLive's answer."""
    try:
        desc = client.describe_table()
    except TableNotFoundError:
        return None, None
    ttl = client.send("DescribeTimeToLive", {"TableName": client.table_name})
    return desc, ttl


def diff_live(client: Client) -> TableDiff:
    """Compare ``client.table`` with the live table ``client.table_name``."""
    desc, ttl = read_live(client)
    return diff_table(client.table, desc, ttl, table_name=client.table_name)

