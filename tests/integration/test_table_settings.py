"""Production settings on DynamoDB Local: what it honours is checked live, what it lacks is
skipped by create / diff with the reason, and requests it cannot serve fail with typed errors.

Found on DynamoDB Local 3.3: deletion protection and on-demand maxima (table and GSI, at
creation; a GSI's maxima are not changed by UpdateTable; a table's are dropped by any
UpdateTable that does not repeat them, and both sides must be given) are stored and
reported. Encryption
and table class are accepted by CreateTable but not reported (no SSEDescription /
TableClassSummary) and UpdateTable says "Nothing to update". Tags (ListTagsOfResource,
TagResource, UntagResource) and continuous backups (point-in-time recovery) are unknown
operations. Replica updates are answered "Nothing to update": there is no replication.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from dyntable import GSI, Table
from dyntable._internal.operations.tables import pitr_params, replica_create_params
from dyntable.client import Client
from dyntable.errors import ServiceError, ServiceValidationError
from dyntable.migrations.diff import diff_live
from dyntable.migrations.sync import sync_table
from dyntable.schema.settings import Encryption, OnDemandThroughput, Replica

pytestmark = pytest.mark.integration


def _production(name: str = "settings", **kw: Any) -> Table:
    settings: dict[str, Any] = dict(
        stream="NEW_AND_OLD_IMAGES", ttl="expires_at", deletion_protection=True,
        point_in_time_recovery=True, tags={"team": "orders"},
        encryption=Encryption.customer_managed("alias/orders"),
        table_class="STANDARD_INFREQUENT_ACCESS",
        on_demand_throughput=OnDemandThroughput(100, 50),
        gsis=[GSI("ByDay", pk="day", sk="n", on_demand_throughput=OnDemandThroughput(20, 10))],
        replicas=["eu-west-1", Replica("ap-south-1", table_class="STANDARD")])
    settings.update(kw)
    return Table(name, **settings)


def _unprotect(db: Any) -> None:
    db.send("UpdateTable", {"TableName": db.table_name, "DeletionProtectionEnabled": False})


def test_a_production_declaration_creates_on_dynamodb_local(
        client_of: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dyntable.tables"):
        db = client_of(_production())
    try:
        desc = db.describe_table()
        assert desc["DeletionProtectionEnabled"] is True
        assert desc["OnDemandThroughput"] == {"MaxReadRequestUnits": 100,
                                              "MaxWriteRequestUnits": 50}
        assert desc["GlobalSecondaryIndexes"][0]["OnDemandThroughput"] == {
            "MaxReadRequestUnits": 20, "MaxWriteRequestUnits": 10}
        assert "Replicas" not in desc
        with pytest.raises(ServiceValidationError, match="protected against deletion"):
            db.delete_table(wait=False)
        logged = caplog.text
        assert "DynamoDB Local has no point-in-time recovery: not enabled" in logged
        assert "DynamoDB Local does not replicate: replicas eu-west-1, ap-south-1" in logged
    finally:
        _unprotect(db)


@pytest.mark.sync_only("schema diff / sync run on the sync client (an operator tool)")
@pytest.mark.one_transport
def test_diff_and_sync_of_what_dynamodb_local_honours(client_of: Callable[..., Client]) -> None:
    db = client_of(_production())
    try:
        first = diff_live(db)
        assert first.empty, str(first)
        assert first.notes == ["DynamoDB Local does not support or report replicas, "
                               "point-in-time recovery, tags, encryption, table class: "
                               "not compared"]
        unprotected = _production(deletion_protection=False)
        live = unprotected.connect(transport=db.transport, table_name=db.table_name)
        plan = diff_live(live)
        assert [(c.kind, c.target) for c in plan.changes] == [("deletion_protection", "table")]
        sync_table(live, poll=0.05)
        assert db.describe_table()["DeletionProtectionEnabled"] is False
        # DynamoDB Local forgets a table's on-demand maxima at any UpdateTable that does not
        # repeat them (AWS keeps them): the diff sees it, and sync sets them again
        assert [c.kind for c in diff_live(live).changes] == ["on_demand"]
        faster = _production(deletion_protection=False,
                             on_demand_throughput=OnDemandThroughput(300, 60))
        live = faster.connect(transport=db.transport, table_name=db.table_name)
        (change,) = diff_live(live).changes
        assert change.params["OnDemandThroughput"] == {"MaxReadRequestUnits": 300,
                                                       "MaxWriteRequestUnits": 60}
        sync_table(live, poll=0.05)
        assert db.describe_table()["OnDemandThroughput"] == {"MaxReadRequestUnits": 300,
                                                             "MaxWriteRequestUnits": 60}
        assert diff_live(live).empty
    finally:
        _unprotect(db)


@pytest.mark.sync_only("raw requests")
@pytest.mark.one_transport
def test_what_dynamodb_local_refuses_comes_back_typed(client_of: Callable[..., Client]) -> None:
    table = _production(deletion_protection=False)
    db = client_of(table)
    with pytest.raises(ServiceValidationError, match="Nothing to update"):
        db.send("UpdateTable", replica_create_params(table, db.table_name, table.replicas[0]))
    with pytest.raises(ServiceError) as pitr:
        db.send("UpdateContinuousBackups", pitr_params(db.table_name, True))
    assert pitr.value.code == "UnknownOperationException"
    arn = db.describe_table()["TableArn"]
    with pytest.raises(ServiceError, match="Tagging is not currently supported") as tags:
        db.send("ListTagsOfResource", {"ResourceArn": arn})
    assert tags.value.code == "UnknownOperationException"
