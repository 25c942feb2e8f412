"""Export of production settings: AWS::DynamoDB::Table with PITR / SSE / on-demand maxima and
auto scaling resources, AWS::DynamoDB::GlobalTable for replicas; cfn-lint passes them and
they round-trip to the CreateTable parameters."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from dyntable import GSI, Table
from dyntable._internal.operations.tables import create_table_params, ttl_params
from dyntable.migrations.export import create_params_of, table_resource, template, to_yaml
from dyntable.schema.settings import AutoScaling, Encryption, OnDemandThroughput, Replica

yaml = pytest.importorskip("yaml")

NAOI: Final = "NEW_AND_OLD_IMAGES"
KEY_EU = "arn:aws:kms:eu-west-1:111122223333:key/k-eu"

REGIONAL = Table(
    "orders-regional", stream="NEW_IMAGE", ttl="expires_at", point_in_time_recovery=True,
    recovery_period_days=14,
    encryption=Encryption.customer_managed("alias/orders"), deletion_protection=True,
    table_class="STANDARD_INFREQUENT_ACCESS", tags={"team": "orders"},
    on_demand_throughput=OnDemandThroughput(200, 100),
    gsis=[GSI("ByDay", pk="day", sk="n", on_demand_throughput=OnDemandThroughput(50, 20))])
SCALED = Table(
    "orders-scaled", billing_mode="PROVISIONED", encryption=Encryption.aws_managed(),
    read_autoscaling=AutoScaling(5, 500, 60, scale_in_cooldown=120), write_capacity=10,
    gsis=[GSI("ByDay", pk="day", read_capacity=4, write_autoscaling=AutoScaling(2, 50))])
GLOBAL = Table(
    "orders-global", stream=NAOI, ttl="expires_at", point_in_time_recovery=True,
    encryption=Encryption.customer_managed("alias/orders"), deletion_protection=True,
    tags={"team": "orders"}, on_demand_throughput=OnDemandThroughput(300, 100),
    table_class="STANDARD_INFREQUENT_ACCESS",
    gsis=[GSI("ByDay", pk="day", sk="n", on_demand_throughput=OnDemandThroughput(40, 30))],
    replicas=["us-west-2", Replica("eu-west-1", kms_key=KEY_EU, table_class="STANDARD",
                                   max_read_units=90, point_in_time_recovery=False,
                                   tags={"team": "orders-eu"}, deletion_protection=False)])
GLOBAL_PROVISIONED = Table(
    "orders-global-prov", stream=NAOI, billing_mode="PROVISIONED",
    read_autoscaling=AutoScaling(5, 100), write_autoscaling=AutoScaling(5, 50, 50),
    gsis=[GSI("ByDay", pk="day", read_autoscaling=AutoScaling(1, 10))],
    replicas=[Replica("eu-west-1", read_capacity=8)])
ALL = [REGIONAL, SCALED, GLOBAL, GLOBAL_PROVISIONED]
IDS = ["regional", "scaled", "global", "global-provisioned"]


def _props(table: Table) -> dict[str, Any]:
    props: dict[str, Any] = table_resource(table)["Properties"]
    return props


def test_table_resource_carries_every_setting() -> None:
    props = _props(REGIONAL)
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True,
                                                         "RecoveryPeriodInDays": 14}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                         "KMSMasterKeyId": "alias/orders"}
    assert props["OnDemandThroughput"] == {"MaxReadRequestUnits": 200, "MaxWriteRequestUnits": 100}
    assert props["GlobalSecondaryIndexes"][0]["OnDemandThroughput"] == {
        "MaxReadRequestUnits": 50, "MaxWriteRequestUnits": 20}
    assert props["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert props["DeletionProtectionEnabled"] is True
    assert props["Tags"] == [{"Key": "team", "Value": "orders"}]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_auto_scaling_is_application_auto_scaling_resources() -> None:
    resources = template(SCALED)["Resources"]
    kinds = {lid: r["Type"] for lid, r in resources.items()}
    assert kinds == {
        "OrdersScaledTable": "AWS::DynamoDB::Table",
        "OrdersScaledTableReadScalableTarget": "AWS::ApplicationAutoScaling::ScalableTarget",
        "OrdersScaledTableReadScalingPolicy": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "OrdersScaledTableByDayWriteScalableTarget": "AWS::ApplicationAutoScaling::ScalableTarget",
        "OrdersScaledTableByDayWriteScalingPolicy": "AWS::ApplicationAutoScaling::ScalingPolicy"}
    target = resources["OrdersScaledTableByDayWriteScalableTarget"]["Properties"]
    assert target["ScalableDimension"] == "dynamodb:index:WriteCapacityUnits"
    assert target["ResourceId"] == {"Fn::Join": ["/", ["table", {"Ref": "OrdersScaledTable"},
                                                       "index", "ByDay"]]}
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 50)
    policy = resources["OrdersScaledTableReadScalingPolicy"]["Properties"]
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 60.0, "ScaleInCooldown": 120,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}
    assert _props(SCALED)["ProvisionedThroughput"] == {"ReadCapacityUnits": 5,
                                                       "WriteCapacityUnits": 10}


def test_replicas_make_a_global_table_whose_first_replica_is_the_stack_region() -> None:
    resource = table_resource(GLOBAL)
    assert resource["Type"] == "AWS::DynamoDB::GlobalTable"
    props = resource["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["WriteOnDemandThroughputSettings"] == {"MaxWriteRequestUnits": 100}
    assert props["GlobalSecondaryIndexes"][0]["WriteOnDemandThroughputSettings"] == {
        "MaxWriteRequestUnits": 30}
    home, west, eu = props["Replicas"]
    assert home["Region"] == {"Ref": "AWS::Region"}
    assert home == {
        "Region": {"Ref": "AWS::Region"}, "TableClass": "STANDARD_INFREQUENT_ACCESS",
        "DeletionProtectionEnabled": True,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"KMSMasterKeyId": "alias/orders"},
        "ReadOnDemandThroughputSettings": {"MaxReadRequestUnits": 300},
        "GlobalSecondaryIndexes": [{"IndexName": "ByDay", "ReadOnDemandThroughputSettings": {
            "MaxReadRequestUnits": 40}}],
        "Tags": [{"Key": "team", "Value": "orders"}]}
    assert west["Region"] == "us-west-2" and west["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert eu == {
        "Region": "eu-west-1", "TableClass": "STANDARD",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
        "SSESpecification": {"KMSMasterKeyId": KEY_EU},
        "ReadOnDemandThroughputSettings": {"MaxReadRequestUnits": 90},
        "GlobalSecondaryIndexes": [{"IndexName": "ByDay", "ReadOnDemandThroughputSettings": {
            "MaxReadRequestUnits": 40}}],
        "Tags": [{"Key": "team", "Value": "orders-eu"}]}
    assert set(template(GLOBAL)["Resources"]) == {"OrdersGlobalTable"}


def test_a_provisioned_global_table_auto_scales_writes_in_the_resource() -> None:
    props = _props(GLOBAL_PROVISIONED)
    assert props["WriteProvisionedThroughputSettings"] == {"WriteCapacityAutoScalingSettings": {
        "MinCapacity": 5, "MaxCapacity": 50, "SeedCapacity": 5,
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0}}}
    home, eu = props["Replicas"]
    assert home["ReadProvisionedThroughputSettings"]["ReadCapacityAutoScalingSettings"][
        "MaxCapacity"] == 100
    assert eu["ReadProvisionedThroughputSettings"] == {"ReadCapacityUnits": 8}
    gsi = props["GlobalSecondaryIndexes"][0]
    assert gsi["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"][
        "MinCapacity"] == 5  # the table's write auto scaling
    assert "*id" not in to_yaml(template(GLOBAL_PROVISIONED))  # no YAML aliases


@pytest.mark.parametrize("table", ALL, ids=IDS)
def test_round_trip_to_create_table(table: Table) -> None:
    doc = yaml.safe_load(to_yaml(template(table, sam=True)))
    params, ttl = create_params_of(doc["Resources"][next(iter(doc["Resources"]))])
    assert params == create_table_params(table)
    expected = ttl_params(table)
    assert ttl == (expected["TimeToLiveSpecification"] if expected else None)


def _cfn_lint() -> str | None:
    beside = Path(sys.executable).parent / "cfn-lint"
    return str(beside) if beside.exists() else shutil.which("cfn-lint")


def test_cfn_lint_passes_every_exported_template(tmp_path: Path) -> None:
    lint = _cfn_lint()
    if lint is None:
        pytest.skip("cfn-lint is not installed (it is in the dev extra)")
    files = []
    for table, name in zip(ALL, IDS, strict=True):
        for sam in (False, True):
            path = tmp_path / f"{name}-{'sam' if sam else 'cfn'}.yaml"
            path.write_text(to_yaml(template(table, sam=sam)))
            files.append(str(path))
    done = subprocess.run([lint, *files], capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
