"""Diff and sync of production settings and replicas, offline: against DescribeTable-shaped
dicts, and end to end through a fake control plane (tests/unit/migrations/control_plane.py)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Final

import pytest

from dyntable import GSI, Table
from dyntable._internal.operations.tables import create_table_params
from dyntable.client import Client
from dyntable.errors import InvalidRequestError
from dyntable.migrations.diff import RegionState, diff_live, diff_table
from dyntable.migrations.errors import SchemaSyncError
from dyntable.migrations.sync import check_applicable, settled_flow, sync_table
from dyntable.schema.settings import AutoScaling, Encryption, OnDemandThroughput, Replica
from dyntable.transport.aio_adapter import AsyncTransportAdapter
from tests.unit.migrations.control_plane import ControlPlane

NAOI: Final = "NEW_AND_OLD_IMAGES"
ARN = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"


def _global(**kw: Any) -> Table:
    settings: dict[str, Any] = dict(
        stream=NAOI, ttl="expires_at", point_in_time_recovery=True, tags={"team": "orders"},
        encryption=Encryption.customer_managed("alias/orders"),
        gsis=[GSI("ByDay", pk="day", sk="n")],
        replicas=["eu-west-1", Replica("ap-south-1", table_class="STANDARD_INFREQUENT_ACCESS")])
    settings.update(kw)
    return Table("orders", **settings)


def _live(table: Table, arn: str = ARN) -> dict[str, Any]:
    """DescribeTable for a table made from ``table`` with all its replicas ACTIVE."""
    desc = copy.deepcopy(create_table_params(table))
    desc.pop("Tags", None)
    desc["TableStatus"] = "ACTIVE"
    desc["TableArn"] = arn
    desc["BillingModeSummary"] = {"BillingMode": desc.pop("BillingMode")}
    desc["DeletionProtectionEnabled"] = desc.pop("DeletionProtectionEnabled", False)
    sse = desc.pop("SSESpecification", None)
    if sse and sse["Enabled"]:
        desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS",
                                  "KMSMasterKeyArn": KEY}
    for g in desc.get("GlobalSecondaryIndexes", []):
        g["IndexStatus"] = "ACTIVE"
    desc["Replicas"] = [{"RegionName": r.region, "ReplicaStatus": "ACTIVE",
                         "ReplicaTableClassSummary": {
                             "TableClass": table.replica_table_class(r) or "STANDARD"}}
                        for r in table.replicas]
    return desc


TTL_ON = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}}
PITR_ON = {"ContinuousBackupsDescription": {
    "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}}}
PITR_OFF = {"ContinuousBackupsDescription": {
    "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}}


def _regions(table: Table, **override: RegionState) -> dict[str, RegionState]:
    out = {}
    for r in table.replicas:
        arn = ARN.replace("us-east-1", r.region)
        out[r.region] = RegionState(
            description={"TableArn": arn, "DeletionProtectionEnabled":
                         table.replica_deletion_protection(r)},
            backups=PITR_ON if table.replica_pitr(r) else PITR_OFF,
            tags=table.replica_tags(r))
    out.update(override)
    return out


def _diff(table: Table, live: dict[str, Any], **kw: Any) -> Any:
    kw.setdefault("backups", PITR_ON)
    kw.setdefault("tags", {"team": "orders"})
    kw.setdefault("regions", _regions(table))
    return diff_table(table, live, TTL_ON, **kw)


def test_a_global_table_in_step_has_no_differences() -> None:
    t = _global()
    d = _diff(t, _live(t))
    assert d.empty, str(d)


def test_a_new_replica_is_one_update_table_after_the_other_settings() -> None:
    t = _global()
    live = _live(_global(replicas=["eu-west-1"]))
    d = _diff(t, live, backups=PITR_OFF, tags={"team": "orders", "old": "1"})
    assert [(c.kind, c.target) for c in d.changes] == [
        ("pitr", "table"), ("tags", "table"), ("add_replica", "ap-south-1")]
    add = d.changes[-1]
    assert add.params == {"TableName": "orders", "ReplicaUpdates": [{"Create": {
        "RegionName": "ap-south-1", "KMSMasterKeyId": "alias/orders",
        "TableClassOverride": "STANDARD_INFREQUENT_ACCESS"}}]}
    assert "one replica change per UpdateTable" in add.note
    assert d.changes[1].params == {"ResourceArn": ARN, "TagKeys": ["old"]}
    assert d.adds_replicas and any("second pass" in n for n in d.notes)
    assert not d.destructive


def test_removing_a_replica_is_destructive_and_unprotects_it_first() -> None:
    t = _global(replicas=["eu-west-1"])
    live = _live(_global())
    regions = _regions(_global())
    regions["ap-south-1"].description["DeletionProtectionEnabled"] = True  # type: ignore[index]
    d = _diff(t, live, regions=regions)
    assert [(c.kind, c.target, c.region, c.destructive) for c in d.changes] == [
        ("deletion_protection", "ap-south-1", "ap-south-1", False),
        ("remove_replica", "ap-south-1", None, True)]
    assert d.changes[0].params == {"TableName": "orders", "DeletionProtectionEnabled": False}
    assert d.changes[1].params["ReplicaUpdates"] == [{"Delete": {"RegionName": "ap-south-1"}}]
    with pytest.raises(SchemaSyncError, match="remove replica ap-south-1"):
        check_applicable(d, allow_destructive=False)


def test_replica_settings_drift_is_an_update_and_regional_settings_go_to_their_region() -> None:
    t = _global(replicas=["eu-west-1", Replica("ap-south-1", table_class="STANDARD",
                                               max_read_units=40, tags={"team": "in"},
                                               point_in_time_recovery=False,
                                               deletion_protection=True)])
    live = _live(_global())
    regions = _regions(_global())
    d = _diff(t, live, regions=regions)
    by = [(c.kind, c.region) for c in d.changes]
    assert by == [("replica", None), ("deletion_protection", "ap-south-1"),
                  ("pitr", "ap-south-1"), ("tags", "ap-south-1")]
    update = d.changes[0]
    assert "table class STANDARD_INFREQUENT_ACCESS -> STANDARD" in update.detail
    assert "on-demand read maximum None -> 40" in update.detail
    assert update.params["ReplicaUpdates"][0]["Update"]["OnDemandThroughputOverride"] == {
        "MaxReadRequestUnits": 40}
    tags = d.changes[-1]
    assert tags.operation == "TagResource"
    assert tags.params["ResourceArn"].startswith("arn:aws:dynamodb:ap-south-1:")
    assert "[in ap-south-1]" in str(tags)


def test_tags_aws_keys_are_left_alone_and_none_means_unmanaged() -> None:
    t = _global(replicas=(), stream=None, tags={"a": "1", "b": "2"})
    live = _live(t)
    d = _diff(t, live, tags={"a": "1", "b": "old", "c": "3", "aws:cloudformation:stack-name": "s"})
    assert [(c.operation, c.params.get("Tags") or c.params.get("TagKeys")) for c in d.changes] \
        == [("TagResource", [{"Key": "b", "Value": "2"}]), ("UntagResource", ["c"])]
    unmanaged = Table("orders", stream=None, ttl="expires_at")
    assert diff_table(unmanaged, _live(unmanaged), TTL_ON, tags={"x": "y"}).empty


def test_pitr_and_encryption_changes() -> None:
    t = _global(replicas=(), stream=None, encryption=Encryption.customer_managed(KEY))
    live = _live(_global(replicas=(), stream=None, encryption=None))
    d = _diff(t, live, backups=PITR_OFF)
    assert [(c.kind, c.operation) for c in d.changes] == [
        ("encryption", "UpdateTable"), ("pitr", "UpdateContinuousBackups")]
    assert d.changes[0].params["SSESpecification"] == {"Enabled": True, "SSEType": "KMS",
                                                       "KMSMasterKeyId": KEY}
    assert "AWS owned key -> KMS key" in d.changes[0].detail
    # a key given by alias cannot be compared with DescribeTable's ARN: no change
    aliased = _global(replicas=(), stream=None)
    assert _diff(aliased, _live(t)).empty
    back = _global(replicas=(), stream=None, encryption=Encryption.aws_owned(),
                   point_in_time_recovery=False)
    d = _diff(back, _live(t))
    assert [c.params.get("SSESpecification") or c.params.get("PointInTimeRecoverySpecification")
            for c in d.changes] == [{"Enabled": False}, {"PointInTimeRecoveryEnabled": False}]
    assert _diff(back, _live(t), backups=None).changes[-1].kind == "encryption"  # PITR unread


def test_the_recovery_period_is_compared_when_declared() -> None:
    t = _global(replicas=(), stream=None, recovery_period_days=7)
    (change,) = _diff(t, _live(t)).changes  # AWS's default period is 35 days
    assert change.detail == "point-in-time recovery on (7 days, was 35)"
    assert change.params["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7}
    seven = {"ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": {
        "PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": 7}}}
    assert _diff(t, _live(t), backups=seven).empty


def test_on_demand_maxima_for_table_and_gsi() -> None:
    t = Table("orders", on_demand_throughput=OnDemandThroughput(100),
              gsis=[GSI("ByDay", pk="day", on_demand_throughput=OnDemandThroughput(5, 6))])
    live = _live(Table("orders", gsis=[GSI("ByDay", pk="day")]))
    live["OnDemandThroughput"] = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 30}
    d = diff_table(t, live)
    assert [(c.kind, c.target) for c in d.changes] == [("on_demand", "table"),
                                                       ("on_demand", "ByDay")]
    assert d.changes[0].params["OnDemandThroughput"] == {"MaxReadRequestUnits": 100,
                                                         "MaxWriteRequestUnits": -1}
    assert d.changes[1].params["GlobalSecondaryIndexUpdates"] == [{"Update": {
        "IndexName": "ByDay",
        "OnDemandThroughput": {"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": 6}}}]


def test_capacity_under_auto_scaling_is_left_alone() -> None:
    t = Table("orders", billing_mode="PROVISIONED", read_autoscaling=AutoScaling(5, 100),
              write_capacity=10, gsis=[GSI("ByDay", pk="day", read_autoscaling=AutoScaling(1, 9),
                                           write_capacity=4)])
    live = _live(t)
    live["ProvisionedThroughput"] = {"ReadCapacityUnits": 73, "WriteCapacityUnits": 10}
    live["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["ReadCapacityUnits"] = 8
    d = diff_table(t, live)
    assert d.empty and any("Application Auto Scaling" in n for n in d.notes)
    live["ProvisionedThroughput"]["WriteCapacityUnits"] = 3  # not auto scaled: set back
    (change,) = diff_table(t, live).changes
    assert change.params["ProvisionedThroughput"] == {"ReadCapacityUnits": 73,
                                                      "WriteCapacityUnits": 10}


def test_dynamodb_local_is_not_compared_for_what_it_lacks() -> None:
    t = _global(table_class="STANDARD_INFREQUENT_ACCESS")
    local = _live(Table("orders", stream=NAOI, ttl="expires_at",
                        gsis=[GSI("ByDay", pk="day", sk="n")]),
                  arn="arn:aws:dynamodb:ddblocal:000000000000:table/orders")
    local.pop("Replicas")
    local.pop("SSEDescription", None)
    d = diff_table(t, local, TTL_ON)
    assert d.empty
    (note,) = d.notes
    assert note == ("DynamoDB Local does not support or report replicas, point-in-time "
                    "recovery, tags, encryption, table class: not compared")
    assert "note: DynamoDB Local" in str(d)


def test_the_home_region_cannot_be_a_replica() -> None:
    t = _global(replicas=["us-east-1", "eu-west-1"])
    d = _diff(t, _live(_global(replicas=["eu-west-1"])))
    (bad,) = d.unsupported
    assert "table is in us-east-1, which the declaration lists as a replica" in bad.detail


def test_a_failed_replica_stops_the_wait() -> None:
    cp = ControlPlane()
    t = _global()
    db = t.connect(transport=cp.transport())
    db.send("CreateTable", create_table_params(t))
    cp.tables["us-east-1"]["Replicas"] = [{"RegionName": "eu-west-1",
                                           "ReplicaStatus": "CREATION_FAILED"}]
    with pytest.raises(SchemaSyncError, match="replica eu-west-1 CREATION_FAILED"):
        db.run(settled_flow("orders", timeout=1, poll=0.01))


# -- end to end through the fake control plane --------------------------------------------------

def _replica_calls(cp: ControlPlane, region: str | None = None) -> list[tuple[str, str]]:
    out = []
    for op, params in cp.sent(region):
        if op == "UpdateTable" and "ReplicaUpdates" in params:
            (update,) = params["ReplicaUpdates"]  # one replica change per call
            ((kind, spec),) = update.items()
            out.append((kind, spec["RegionName"]))
    return out


def test_create_table_adds_pitr_then_one_replica_at_a_time() -> None:
    cp = ControlPlane()
    db = _global().connect(transport=cp.transport())
    desc = db.create_table(timeout=10)
    ops = [op for op, _ in cp.sent()]
    assert ops[:4] == ["CreateTable", "DescribeTable", "UpdateTimeToLive",
                       "UpdateContinuousBackups"]
    assert _replica_calls(cp) == [("Create", "eu-west-1"), ("Create", "ap-south-1")]
    first = ops.index("UpdateTable")
    second = ops.index("UpdateTable", first + 1)
    between = ops[first + 1:second]
    assert between == ["DescribeTable", "DescribeTable"]  # CREATING, then ACTIVE
    assert {r["RegionName"]: r["ReplicaStatus"] for r in desc["Replicas"]} == {
        "eu-west-1": "ACTIVE", "ap-south-1": "ACTIVE"}
    assert cp.backups == {"us-east-1": True}


def test_async_create_table_runs_the_same_flow() -> None:
    cp = ControlPlane()

    async def main() -> None:
        db = await _global().connect_async(transport=AsyncTransportAdapter(cp.transport()))
        await db.create_table(timeout=10)

    asyncio.run(main())
    assert _replica_calls(cp) == [("Create", "eu-west-1"), ("Create", "ap-south-1")]
    assert cp.backups == {"us-east-1": True}


def test_sync_creates_a_global_table_and_sets_each_replicas_own_settings() -> None:
    cp = ControlPlane()
    t = _global(deletion_protection=True,
                replicas=["eu-west-1", Replica("ap-south-1", tags={"team": "in"},
                                               point_in_time_recovery=False)])
    db = t.connect(transport=cp.transport())

    def connect_region(region: str) -> Client:
        return t.connect(transport=cp.transport(region))

    steps: list[str] = []
    done = sync_table(db, poll=0.01, echo=steps.append, connect_region=connect_region)
    # the first pass creates the table (and its replicas); the second sets what each replica
    # keeps in its own region
    assert [(c.kind, c.region) for c in done.changes] == [
        ("create_table", None), ("deletion_protection", "ap-south-1"),
        ("tags", "ap-south-1"), ("deletion_protection", "eu-west-1"), ("pitr", "eu-west-1"),
        ("tags", "eu-west-1")]
    assert cp.backups == {"us-east-1": True, "eu-west-1": True}
    assert cp.tags == {"us-east-1": {"team": "orders"}, "eu-west-1": {"team": "orders"},
                       "ap-south-1": {"team": "in"}}
    assert cp.tables["eu-west-1"]["DeletionProtectionEnabled"] is True
    assert cp.tables["ap-south-1"]["DeletionProtectionEnabled"] is True
    assert any("[in eu-west-1]" in s for s in steps)
    assert diff_live(db, connect_region=connect_region).empty

    # one replica more, one less: one UpdateTable each
    grown = _global(replicas=["eu-west-1", "eu-north-1"], deletion_protection=True)
    live = grown.connect(transport=cp.transport())
    plan = diff_live(live, connect_region=connect_region)
    assert [(c.kind, c.target) for c in plan.changes] == [
        ("deletion_protection", "ap-south-1"),  # the replica's own protection, first
        ("remove_replica", "ap-south-1"), ("add_replica", "eu-north-1")]
    with pytest.raises(SchemaSyncError, match="--allow-destructive"):
        sync_table(live, poll=0.01, connect_region=connect_region)
    sync_table(live, poll=0.01, allow_destructive=True, connect_region=connect_region)
    assert _replica_calls(cp)[-2:] == [("Delete", "ap-south-1"), ("Create", "eu-north-1")]
    assert cp.backups["eu-north-1"] is True  # set in the second pass
    assert diff_live(live, connect_region=connect_region).empty


def test_create_table_refuses_a_replica_in_its_own_region() -> None:
    cp = ControlPlane(home="eu-west-1")
    db = _global().connect(transport=cp.transport("eu-west-1"))
    with pytest.raises(InvalidRequestError, match="is in eu-west-1, which its declaration "
                                                  "also lists as a replica"):
        db.create_table(timeout=10)
    assert _replica_calls(cp, "eu-west-1") == []
