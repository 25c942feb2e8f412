"""Production table settings and replicas: the declaration's checks and the requests built
from it (CreateTable, UpdateContinuousBackups, UpdateTable replica updates)."""

from __future__ import annotations

from typing import Any, Final

import pytest

from dyntable import GSI, Table
from dyntable._internal.operations.tables import (
    create_table_params,
    home_region,
    is_dynamodb_local,
    on_demand_params,
    pitr_params,
    replica_create_params,
    replica_delete_params,
    sse_specification,
)
from dyntable.errors import DeclarationError
from dyntable.schema.settings import AutoScaling, Encryption, OnDemandThroughput, Replica

NAOI: Final = "NEW_AND_OLD_IMAGES"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _table(**kw: Any) -> Table:
    return Table("orders", **kw)


# -- declaration checks ------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "message"), [
    (dict(replicas=["eu-west-1"]), "replicas need stream='NEW_AND_OLD_IMAGES'"),
    (dict(replicas=["eu-west-1"], stream="NEW_IMAGE"), "not 'NEW_IMAGE'"),
    (dict(stream=NAOI, replicas=["eu-west-1", Replica("eu-west-1")]),
     r"replica regions given twice: \['eu-west-1'\]"),
    (dict(stream=NAOI, replicas=[Replica("eu-west-1", kms_key="alias/x")]),
     "kms_key needs the table's encryption to be Encryption.customer_managed"),
    (dict(stream=NAOI, replicas=[Replica("eu-west-1", kms_key="alias/x")],
          encryption=Encryption.aws_managed()), "replica 'eu-west-1': kms_key needs"),
    (dict(stream=NAOI, replicas=["eu-west-1"], encryption=Encryption.customer_managed(KEY_ARN)),
     "names a key in one region; give the replica its own kms_key"),
    (dict(stream=NAOI, replicas=["eu-west-1"], billing_mode="PROVISIONED", read_capacity=5,
          write_capacity=5), "PROVISIONED global table needs write_autoscaling"),
    (dict(billing_mode="PROVISIONED", read_capacity=1, write_capacity=1,
          on_demand_throughput=OnDemandThroughput(10)),
     "on_demand_throughput applies to PAY_PER_REQUEST"),
    (dict(read_autoscaling=AutoScaling(1, 5)), "auto scaling applies to PROVISIONED billing"),
    (dict(gsis=[GSI("ByDay", pk="d", write_autoscaling=AutoScaling(1, 5))]),
     "GSI 'ByDay': auto scaling applies to PROVISIONED"),
    (dict(billing_mode="PROVISIONED", read_capacity=50, write_capacity=1,
          read_autoscaling=AutoScaling(1, 10)), "read_capacity 50 is outside its auto scaling"),
    (dict(table_class="GLACIER"), "table_class must be one of"),
    (dict(stream=NAOI, replicas=[Replica("eu-west-1", read_capacity=5)]),
     "read capacity overrides apply to PROVISIONED"),
    (dict(stream=NAOI, billing_mode="PROVISIONED", read_capacity=1,
          write_autoscaling=AutoScaling(1, 5),
          replicas=[Replica("eu-west-1", max_read_units=5)]),
     "max_read_units applies to PAY_PER_REQUEST"),
    (dict(tags={"aws:owner": "x"}), "the aws: prefix is AWS's own"),
    (dict(tags={"k": "v" * 257}), "values are strings up to 256"),
    (dict(encryption="AWS_MANAGED"), r"encryption takes Encryption\(...\)"),
    (dict(point_in_time_recovery="yes"), "point_in_time_recovery is True, False or None"),
    (dict(replicas=[42]), "replicas takes region names or Replica"),
    (dict(recovery_period_days=7), "recovery_period_days needs point_in_time_recovery=True"),
    (dict(point_in_time_recovery=True, recovery_period_days=36), "recovery_period_days is 1 to 35"),
])
def test_bad_declarations_say_what_is_wrong(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        _table(**kw)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Encryption("AWS_OWNED", "alias/k"), "only used with CUSTOMER_MANAGED"),
    (lambda: Encryption("AWS_MANAGED", KEY_ARN), "only used with CUSTOMER_MANAGED"),
    (lambda: Encryption("CUSTOMER_MANAGED"), "CUSTOMER_MANAGED needs kms_key"),
    (lambda: Encryption("KMS"), "kind must be one of"),  # type: ignore[arg-type]
    (lambda: OnDemandThroughput(), "give max_read_units and/or max_write_units"),
    (lambda: OnDemandThroughput(0), "max_read_units must be a positive int"),
    (lambda: AutoScaling(10, 5), "max_capacity 5 is below min_capacity 10"),
    (lambda: AutoScaling(1, 5, 95), "target_utilization is a percentage from 20 to 90"),
    (lambda: AutoScaling(1, 5, scale_in_cooldown=-1), "scale_in_cooldown is a number"),
    (lambda: Replica("Europe"), "region must be a region name"),
    (lambda: Replica("eu-west-1", table_class="COLD"),
     "Replica 'eu-west-1': table_class must be one of"),
    (lambda: Replica("eu-west-1", read_capacity=3, read_autoscaling=AutoScaling(1, 5)),
     "read_capacity or read_autoscaling, not both"),
])
def test_bad_settings_say_what_is_wrong(make: Any, message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        make()


def test_replicas_inherit_the_tables_settings_unless_they_override() -> None:
    t = _table(stream=NAOI, table_class="STANDARD_INFREQUENT_ACCESS", point_in_time_recovery=True,
               tags={"team": "orders"}, deletion_protection=True,
               replicas=["eu-west-1", Replica("ap-south-1", table_class="STANDARD",
                                              point_in_time_recovery=False, tags={},
                                              deletion_protection=False)])
    plain, own = t.replicas
    assert plain == Replica("eu-west-1")
    assert t.replica_table_class(plain) == "STANDARD_INFREQUENT_ACCESS"
    assert (t.replica_pitr(plain), t.replica_tags(plain)) == (True, {"team": "orders"})
    assert t.replica_deletion_protection(plain) is True
    assert t.replica_table_class(own) == "STANDARD"
    assert (t.replica_pitr(own), t.replica_tags(own)) == (False, {})
    assert t.replica_deletion_protection(own) is False
    assert t.replica("ap-south-1") is own and t.replica("us-east-1") is None


def test_autoscaling_alone_gives_the_initial_capacity() -> None:
    t = _table(billing_mode="PROVISIONED", read_autoscaling=AutoScaling(5, 50),
               write_autoscaling=AutoScaling(2, 20),
               gsis=[GSI("ByDay", pk="d", read_autoscaling=AutoScaling(3, 30))])
    params = create_table_params(t)
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    (gsi,) = params["GlobalSecondaryIndexes"]
    assert gsi["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2}


# -- requests ------------------------------------------------------------------------------------

def test_create_table_carries_every_setting() -> None:
    t = _table(stream=NAOI, table_class="STANDARD_INFREQUENT_ACCESS", deletion_protection=True,
               tags={"team": "orders"}, encryption=Encryption.customer_managed("alias/orders"),
               on_demand_throughput=OnDemandThroughput(100, 50), point_in_time_recovery=True,
               gsis=[GSI("ByDay", pk="d", on_demand_throughput=OnDemandThroughput(
                   max_write_units=10))])
    p = create_table_params(t)
    assert p["SSESpecification"] == {"Enabled": True, "SSEType": "KMS",
                                     "KMSMasterKeyId": "alias/orders"}
    assert p["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}
    assert p["GlobalSecondaryIndexes"][0]["OnDemandThroughput"] == {"MaxWriteRequestUnits": 10}
    assert p["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert p["DeletionProtectionEnabled"] is True
    assert p["Tags"] == [{"Key": "team", "Value": "orders"}]
    assert p["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": NAOI}
    assert "PointInTimeRecoverySpecification" not in p  # a separate call
    assert pitr_params("phys", True) == {
        "TableName": "phys",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
    assert pitr_params("phys", True, 7)["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7}
    assert pitr_params("phys", False, 7)["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": False}


def test_settings_left_undeclared_are_not_sent() -> None:
    p = create_table_params(_table())
    for name in ("SSESpecification", "OnDemandThroughput", "TableClass", "Tags",
                 "DeletionProtectionEnabled", "StreamSpecification"):
        assert name not in p


def test_encryption_kinds() -> None:
    assert sse_specification(Encryption.aws_owned()) == {"Enabled": False}
    assert sse_specification(Encryption.aws_managed()) == {"Enabled": True, "SSEType": "KMS"}
    assert sse_specification(Encryption.customer_managed(KEY_ARN))["KMSMasterKeyId"] == KEY_ARN


def test_on_demand_updates_say_no_maximum_with_minus_one() -> None:
    assert on_demand_params(OnDemandThroughput(5)) == {"MaxReadRequestUnits": 5}
    assert on_demand_params(OnDemandThroughput(5), both=True) == {
        "MaxReadRequestUnits": 5, "MaxWriteRequestUnits": -1}
    assert on_demand_params(None, both=True) == {"MaxReadRequestUnits": -1,
                                                 "MaxWriteRequestUnits": -1}


def test_replica_requests_one_region_each_with_its_settings() -> None:
    t = _table(stream=NAOI, table_class="STANDARD_INFREQUENT_ACCESS",
               encryption=Encryption.customer_managed("alias/orders"),
               on_demand_throughput=OnDemandThroughput(100),
               replicas=["eu-west-1", Replica("ap-south-1", kms_key="alias/in", max_read_units=7,
                                              table_class="STANDARD")])
    first, second = (replica_create_params(t, "phys", r) for r in t.replicas)
    assert first == {"TableName": "phys", "ReplicaUpdates": [{"Create": {
        "RegionName": "eu-west-1", "KMSMasterKeyId": "alias/orders",
        "TableClassOverride": "STANDARD_INFREQUENT_ACCESS"}}]}
    assert second["ReplicaUpdates"] == [{"Create": {
        "RegionName": "ap-south-1", "KMSMasterKeyId": "alias/in",
        "OnDemandThroughputOverride": {"MaxReadRequestUnits": 7},
        "TableClassOverride": "STANDARD"}}]
    prov = _table(stream=NAOI, billing_mode="PROVISIONED", read_capacity=5,
                  write_autoscaling=AutoScaling(5, 50),
                  replicas=[Replica("eu-west-1", read_capacity=9),
                            Replica("eu-north-1", read_autoscaling=AutoScaling(4, 40))])
    overrides = [replica_create_params(prov, "phys", r)["ReplicaUpdates"][0]["Create"].get(
        "ProvisionedThroughputOverride") for r in prov.replicas]
    assert overrides == [{"ReadCapacityUnits": 9}, {"ReadCapacityUnits": 4}]
    assert replica_delete_params("phys", "eu-west-1") == {
        "TableName": "phys", "ReplicaUpdates": [{"Delete": {"RegionName": "eu-west-1"}}]}


def test_region_from_the_table_arn() -> None:
    assert home_region({"TableArn": "arn:aws:dynamodb:eu-west-3:1:table/t"}) == "eu-west-3"
    assert home_region({}) is None
    assert is_dynamodb_local({"TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/t"})
    assert not is_dynamodb_local({"TableArn": "arn:aws:dynamodb:eu-west-3:1:table/t"})
